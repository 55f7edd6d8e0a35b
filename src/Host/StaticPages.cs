using Hive.Host.Auth;

namespace Hive.Host;

/// <summary>
/// The static pages beside the dashboard, each given a clean path before the static files (the address stays as it is):
/// <c>/needs-you</c> (everything open for the operator, installable through <c>/manifest.webmanifest</c>),
/// <c>/agents/{name}</c> (one agent's own page), <c>/tickets/{id}</c> (a ticket's diff and review) and <c>/agents/{name}/terminal</c> (a terminal in its sandbox). Like the
/// dashboard they are served to anyone and show nothing of the hive until their <c>/api</c> requests (or the terminal's
/// WebSocket, under /api) are signed in; each reads what it is about from its own address. The terminal's page alone
/// allows inline styles: xterm.js writes its theme into a <c>&lt;style&gt;</c> element (never inline scripts).
/// </summary>
public static class StaticPages
{
    public const string NeedsYou = "/needs-you";

    public const string TerminalContentSecurityPolicy = SecurityHeadersMiddleware.ContentSecurityPolicy + "; style-src 'self' 'unsafe-inline'";

    public static void UseCleanPaths(WebApplication app) => app.Use((context, next) =>
    {
        var request = context.Request;
        switch ((request.Path.Value ?? "").Split('/'))
        {
            case ["", "needs-you"]:
                request.Path = "/needs-you.html";
                break;
            case ["", "agents", { Length: > 0 }]:
                request.Path = "/agent.html";
                break;
            case ["", "tickets", { Length: > 0 }]:
                request.Path = "/ticket.html";
                break;
            case ["", "agents", { Length: > 0 }, "terminal"] when HttpMethods.IsGet(request.Method):
                request.Path = "/terminal.html";
                context.Response.Headers.ContentSecurityPolicy = TerminalContentSecurityPolicy;
                break;
        }
        return next(context);
    });
}
