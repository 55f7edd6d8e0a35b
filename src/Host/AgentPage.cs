namespace Hive.Host;

/// <summary>
/// <c>/agents/{name}</c>: one agent's own page (<c>wwwroot/agent.html</c>, <c>js/agentpage.js</c>), a static page like the
/// dashboard's: it shows nothing of the hive until its <c>/api</c> requests are signed in, and reads its agent's name from
/// its own address. This only gives it a clean path.
/// </summary>
public static class AgentPage
{
    private const string File = "/agent.html";

    /// <summary>Before the static files: <c>/agents/&lt;one segment&gt;</c> is served the file (the address stays as it is).</summary>
    public static void UseCleanPath(WebApplication app) => app.Use((context, next) =>
    {
        if (context.Request.Path.StartsWithSegments("/agents", StringComparison.Ordinal, out var rest)
            && rest.Value is { Length: > 1 } name && name.IndexOf('/', 1) < 0)
            context.Request.Path = File;
        return next(context);
    });
}
