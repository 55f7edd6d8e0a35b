namespace Hive.Host.Auth;

/// <summary>
/// Hardening headers on every response: a CSP that allows only the page's own scripts, styles and connections (no
/// inline script) and no framing, no Referer (the sign-in URL carries the token), and no MIME sniffing. A response
/// that chose its own CSP (the state-file route's <c>sandbox</c>) keeps it.
/// </summary>
public sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

    public Task InvokeAsync(HttpContext context)
    {
        var response = context.Response;
        response.OnStarting(() =>
        {
            var headers = response.Headers;
            if (!headers.ContainsKey("Content-Security-Policy")) headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers["Referrer-Policy"] = "no-referrer";
            headers.XContentTypeOptions = "nosniff";
            return Task.CompletedTask;
        });
        return next(context);
    }
}
