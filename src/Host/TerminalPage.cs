using Hive.Host.Auth;

namespace Hive.Host;

/// <summary>
/// <c>/agents/{name}/terminal</c>: a terminal in the agent's sandbox (<c>wwwroot/terminal.html</c>, <c>js/terminal.js</c>
/// with the vendored xterm.js), a static page like the dashboard's: it shows nothing until its WebSocket, under /api and
/// so signed in, opens. This gives it its path, and its CSP: xterm.js writes its theme into a <c>&lt;style&gt;</c>
/// element, so this page alone allows inline styles (never inline scripts).
/// </summary>
public static class TerminalPage
{
    private const string File = "/terminal.html";

    public const string ContentSecurityPolicy = SecurityHeadersMiddleware.ContentSecurityPolicy + "; style-src 'self' 'unsafe-inline'";

    /// <summary>Before the static files: <c>/agents/{name}/terminal</c> is served the file (the address stays as it is).</summary>
    public static void UseCleanPath(WebApplication app) => app.Use((context, next) =>
    {
        var segments = (context.Request.Path.Value ?? "").Split('/');
        if (segments is ["", "agents", { Length: > 0 }, "terminal"] && HttpMethods.IsGet(context.Request.Method))
        {
            context.Request.Path = File;
            context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        }
        return next(context);
    });
}
