using Hive.Shared.Errors;
using Microsoft.AspNetCore.Mvc;

namespace Hive.Host.Auth;

/// <summary>
/// Signs the operator in (<c>GET /?token=</c>), then guards every path under <c>/api</c> (a route or not, the event
/// stream included) and every other routed endpoint: <c>Authorization: Bearer &lt;token&gt;</c> or the
/// <c>hive_session</c> cookie, else 401. A change (any method but GET, HEAD, OPTIONS, TRACE) made with the cookie must
/// also come from the page's own origin, else 403: a browser attaches the cookie to a request another site's page
/// makes, but only the page itself can show it is same-origin. Bearer calls are exempt (a browser never adds that header
/// to a cross-site request).
/// </summary>
public sealed class OperatorAuthMiddleware(RequestDelegate next, OperatorAuthState state, ILoggerFactory loggers)
{
    public const string CookieName = "hive_session";
    public const string SignInFailedFragment = "#sign-in-failed";

    private readonly ILogger _logger = loggers.CreateLogger(OperatorAuth.SignInCategory);

    private enum Caller { Nobody, Bearer, Cookie, Anyone }

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (state.Token is { } token && request.Path == "/" && HttpMethods.IsGet(request.Method) && request.Query.ContainsKey("token"))
            return SignIn(context, token);
        if (!Guarded(context)) return next(context);

        var caller = state.Token is { } expected ? Authenticate(request, expected) : Caller.Anyone;
        if (caller == Caller.Nobody)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Problem(context, 401, ErrorCodes.Unauthorized, "sign-in required",
                "open the sign-in link the host printed at start-up, or send Authorization: Bearer <the token in <DataDir>/operator-token>");
        }
        // Without sign-in (Hive:Auth:Mode=none) a browser's cross-site change is still refused; a script's passes.
        if (IsChange(request.Method) && caller != Caller.Bearer && !IsSameOrigin(request, proofRequired: caller == Caller.Cookie))
            return Problem(context, 403, ErrorCodes.Forbidden, "refused",
                "a change signed in by the session cookie must come from the dashboard's own page (same origin); scripts send Authorization: Bearer");
        return next(context);
    }

    /// <summary>Everything under /api (so an unknown path there is 401, not a 404 that maps the API), and every routed endpoint but the open ones.</summary>
    private static bool Guarded(HttpContext context) =>
        context.Request.Path.StartsWithSegments(OperatorAuth.ApiRoot, StringComparison.OrdinalIgnoreCase)
        || (context.GetEndpoint() is not null && !OperatorAuth.OpenRoutes.Contains(context.Request.Path.Value ?? ""));

    private static Caller Authenticate(HttpRequest request, OperatorToken token)
    {
        // An Authorization header decides on its own: a wrong one is not rescued by a cookie.
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0)
        {
            var value = authorization.Count == 1 ? authorization[0] ?? "" : "";
            return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && token.IsToken(value["Bearer ".Length..].Trim())
                ? Caller.Bearer
                : Caller.Nobody;
        }
        return request.Cookies.TryGetValue(CookieName, out var session) && token.IsSession(session) ? Caller.Cookie : Caller.Nobody;
    }

    private static bool IsChange(string method) =>
        !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method));

    /// <summary>
    /// Same-origin as browsers state it: <c>Sec-Fetch-Site: same-origin</c>, or else an <c>Origin</c> equal to this
    /// request's scheme://host (the host already passed host filtering). When <paramref name="proofRequired"/>, a request
    /// that carries neither header is refused too.
    /// </summary>
    private static bool IsSameOrigin(HttpRequest request, bool proofRequired)
    {
        var site = request.Headers["Sec-Fetch-Site"];
        if (site.Count > 0) return site.Count == 1 && string.Equals(site[0], "same-origin", StringComparison.OrdinalIgnoreCase);
        var origin = request.Headers.Origin;
        if (origin.Count > 0)
            return origin.Count == 1 && string.Equals(origin[0], $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase);
        return !proofRequired;
    }

    /// <summary>
    /// The right token sets the session cookie and sends the browser to <c>/</c>, so the token leaves the address bar
    /// and the history. A wrong one sets nothing and sends it to <c>/#sign-in-failed</c>: the page shows its sign-in
    /// screen with a note, and the wrong token leaves the address bar too.
    /// </summary>
    private Task SignIn(HttpContext context, OperatorToken token)
    {
        var presented = context.Request.Query["token"];
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        response.StatusCode = StatusCodes.Status303SeeOther;
        if (presented.Count == 1 && token.IsToken(presented[0]))
        {
            response.Cookies.Append(CookieName, token.SessionValue, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Path = "/",
                Secure = context.Request.IsHttps,
                IsEssential = true,
            });
            response.Headers.Location = "/";
        }
        else
        {
            _logger.LogWarning("A sign-in with a wrong token from {RemoteAddress}", context.Connection.RemoteIpAddress);
            response.Headers.Location = "/" + SignInFailedFragment;
        }
        return Task.CompletedTask;
    }

    private static Task Problem(HttpContext context, int status, string code, string title, string detail) =>
        TypedResults.Problem(new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Extensions = { ["code"] = code },
        }).ExecuteAsync(context);
}
