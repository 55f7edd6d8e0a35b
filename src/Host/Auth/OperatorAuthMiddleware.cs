using Hive.Shared.Errors;
using Hive.Shared.Limits;
using Microsoft.AspNetCore.Mvc;

namespace Hive.Host.Auth;

/// <summary>
/// Signs the operator in (<c>GET /?token=</c>, or <c>/needs-you?token=</c>), then guards every path under <c>/api</c> (a route or not, the event
/// stream included) and every other routed endpoint: <c>Authorization: Bearer &lt;token&gt;</c> or the
/// <c>hive_session</c> cookie, else 401. A change (any method but GET, HEAD, OPTIONS, TRACE) made with the cookie must
/// also come from the page's own origin, else 403 (and so must a WebSocket's handshake, a GET): a browser attaches the cookie to a request another site's page
/// makes, but only the page itself can show it is same-origin. Bearer calls are exempt (a browser never adds that header
/// to a cross-site request). A wrong credential (link, Bearer or cookie) is counted by <see cref="WrongSignIns"/>: beyond
/// its rate it is answered 429, and the count is logged once a minute. A valid one makes the request's connection the
/// operator's (<see cref="HttpConnectionBudget"/>) and names its client for the per-client caps.
/// </summary>
public sealed class OperatorAuthMiddleware(RequestDelegate next, OperatorAuthState state, HttpConnectionBudget connections,
    WrongSignIns wrongSignIns)
{
    public const string CookieName = "hive_session";
    public const string SignInFailedFragment = "#sign-in-failed";

    /// <summary>
    /// <see cref="Wrong"/>: a credential was presented and is not the operator's (counted by <see cref="WrongSignIns"/>);
    /// <see cref="Expired"/>: a session cookie this host signed, past its <c>Hive:Auth:SessionDays</c> (not counted).
    /// </summary>
    private enum Caller { Nobody, Wrong, Expired, Bearer, Cookie, Anyone }

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (state.Token is not { } token) return Guard(context, Caller.Anyone);
        if (OperatorAuth.SignInPages.Contains(request.Path.Value ?? "") && HttpMethods.IsGet(request.Method) && request.Query.ContainsKey("token"))
            return SignIn(context, token);

        // Every request, guarded or not: a credential on any of them (the page's assets carry the cookie too) makes its
        // connection the operator's.
        var caller = Authenticate(request, token, out var client);
        if (client is not null)
        {
            connections.SignedIn(context);
            context.Features.Set(client);
        }
        return Guard(context, caller);
    }

    private Task Guard(HttpContext context, Caller caller)
    {
        var request = context.Request;
        if (!Guarded(context)) return next(context);
        if (caller is Caller.Nobody or Caller.Wrong or Caller.Expired)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            // A refused cookie is forgotten: the browser stops presenting it (an old token's cookies would otherwise
            // count as wrong sign-ins at every retry of the page).
            if (request.Headers.Authorization.Count == 0 && request.Cookies.ContainsKey(CookieName)) ForgetSession(context);
            if (caller == Caller.Wrong && !wrongSignIns.TryCount(out var retryAfter)) return TooManyWrong(context, retryAfter);
            return Problem(context, 401, ErrorCodes.Unauthorized, "sign-in required", caller == Caller.Expired
                ? $"this browser's session has ended (sessions last {state.Token!.SessionLifetime.TotalDays:0} days): open the sign-in link the host printed at start-up (or the one in <DataDir>/sign-in-link) again"
                : "open the sign-in link the host printed at start-up (or the one in <DataDir>/sign-in-link), or send Authorization: Bearer <the token in <DataDir>/operator-token>");
        }
        // Without sign-in (Hive:Auth:Mode=none) a browser's cross-site change is still refused; a script's passes.
        if (IsChange(request.Method) && caller != Caller.Bearer && !IsSameOrigin(request, proofRequired: caller == Caller.Cookie))
            return Problem(context, 403, ErrorCodes.Forbidden, "refused",
                "a change signed in by the session cookie must come from the dashboard's own page (same origin); scripts send Authorization: Bearer");
        // A WebSocket (the terminal) is opened by a GET, which another site's page may make with the cookie attached, and
        // it both reads and writes: same-origin is required of it too.
        if (IsUpgrade(request) && caller != Caller.Bearer && !IsSameOrigin(request, proofRequired: caller == Caller.Cookie))
            return Problem(context, 403, ErrorCodes.Forbidden, "refused",
                "a WebSocket signed in by the session cookie must be opened by the dashboard's own page (same origin); scripts send Authorization: Bearer");
        return next(context);
    }

    /// <summary>Everything under /api (so an unknown path there is 401, not a 404 that maps the API), and every routed endpoint but the open ones (and open POSTs).</summary>
    private static bool Guarded(HttpContext context) =>
        context.Request.Path.StartsWithSegments(OperatorAuth.ApiRoot, StringComparison.OrdinalIgnoreCase)
        || (context.GetEndpoint() is not null && !OperatorAuth.OpenRoutes.Contains(context.Request.Path.Value ?? "")
            && !(HttpMethods.IsPost(context.Request.Method) && OperatorAuth.OpenPosts.Contains(context.Request.Path.Value ?? ""))
            && !OperatorAuth.OpenPrefixes.Any(prefix => context.Request.Path.StartsWithSegments(prefix, StringComparison.Ordinal)));

    private static Caller Authenticate(HttpRequest request, OperatorToken token, out OperatorClient? client)
    {
        client = null;
        // An Authorization header decides on its own: a wrong one is not rescued by a cookie.
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0)
        {
            var value = authorization.Count == 1 ? authorization[0] ?? "" : "";
            if (!(value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && token.IsToken(value["Bearer ".Length..].Trim()))) return Caller.Wrong;
            client = new OperatorClient(OperatorClient.Bearer);
            return Caller.Bearer;
        }
        if (!request.Cookies.TryGetValue(CookieName, out var session)) return Caller.Nobody;
        switch (token.CheckSession(session, out var sessionId))
        {
            case OperatorToken.Session.Valid:
                client = OperatorClient.Session(sessionId);
                return Caller.Cookie;
            case OperatorToken.Session.Expired:
                return Caller.Expired;
            default:
                return Caller.Wrong;
        }
    }

    /// <summary>
    /// A wrong credential beyond <see cref="ConnectionLimits.WrongSignInsPerMinute"/>: 429, counted, not logged one by
    /// one. The right token was compared first and is never answered this.
    /// </summary>
    private static Task TooManyWrong(HttpContext context, TimeSpan retryAfter)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers.CacheControl = "no-store";
        return Problem(context, 429, ErrorCodes.TooMany, "Too many wrong sign-ins",
            "too many wrong sign-ins in the last minute; the right token is still accepted (open the sign-in link the host printed at start-up, or the one in <DataDir>/sign-in-link)");
    }

    /// <summary>An HTTP/1.1 upgrade (a WebSocket's handshake); HTTP/2's is a CONNECT, which <see cref="IsChange"/> covers.</summary>
    private static bool IsUpgrade(HttpRequest request) => request.Headers.Upgrade.Count > 0 || request.Headers.Connection.Any(c => c?.Contains("upgrade", StringComparison.OrdinalIgnoreCase) == true);

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
    /// The right token sets the session cookie and sends the browser back to the page it was opened on (<c>/</c> or
    /// <c>/needs-you</c>) without it, so the token leaves the address bar and the history. A wrong one sets nothing and
    /// sends it to that page's <c>#sign-in-failed</c>: the page shows its sign-in screen with a note, and the wrong token
    /// leaves the address bar too.
    /// </summary>
    private Task SignIn(HttpContext context, OperatorToken token)
    {
        var presented = context.Request.Query["token"];
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        if (presented.Count == 1 && token.IsToken(presented[0]))
        {
            connections.SignedIn(context);
            response.StatusCode = StatusCodes.Status303SeeOther;
            var session = token.NewSession(out var expires);
            // Persistent: the browser keeps it across restarts until it expires (the host checks the age too).
            var options = CookieOptionsFor(context);
            options.Expires = expires;
            options.MaxAge = token.SessionLifetime;
            response.Cookies.Append(CookieName, session, options);
            response.Headers.Location = context.Request.Path.Value;
            return Task.CompletedTask;
        }
        if (!wrongSignIns.TryCount(out var retryAfter)) return TooManyWrong(context, retryAfter);
        response.StatusCode = StatusCodes.Status303SeeOther;
        response.Headers.Location = context.Request.Path.Value + SignInFailedFragment;
        return Task.CompletedTask;
    }

    /// <summary>Tells the browser to drop its session cookie (an expired one with the same name, path and flags).</summary>
    public static void ForgetSession(HttpContext context) => context.Response.Cookies.Delete(CookieName, CookieOptionsFor(context));

    private static CookieOptions CookieOptionsFor(HttpContext context) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Path = "/",
        Secure = context.Request.IsHttps,
        IsEssential = true,
    };

    private static Task Problem(HttpContext context, int status, string code, string title, string detail) =>
        TypedResults.Problem(new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Extensions = { ["code"] = code },
        }).ExecuteAsync(context);
}
