namespace Hive.Host;

/// <summary>
/// <c>/needs-you</c>: everything open for the operator on one phone-width page (<c>wwwroot/needs-you.html</c> and
/// <c>js/needsyou.js</c>), installable through <c>/manifest.webmanifest</c>. A static page like the dashboard's: served
/// to anyone, showing nothing of the hive until its <c>/api</c> requests are signed in (it shows the sign-in screen
/// until then). This only gives it a clean path.
/// </summary>
public static class NeedsYouPage
{
    public const string Path = "/needs-you";
    private const string File = "/needs-you.html";

    /// <summary>Before the static files: <c>/needs-you</c> is served the file (the address stays as it is).</summary>
    public static void UseCleanPath(WebApplication app) => app.Use((context, next) =>
    {
        if (context.Request.Path.Equals(Path, StringComparison.Ordinal)) context.Request.Path = File;
        return next(context);
    });
}
