using Hive.Shared.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Primitives;

namespace Hive.Host.Auth;

/// <summary>
/// DNS rebinding: a request whose Host is none of the names this host is known by (<see cref="OperatorAuthSettings.AllowedHosts"/>)
/// is refused before anything else sees it. ASP.NET Core's own host filtering does the same check but answers with an HTML
/// page and runs ahead of the security headers; this one answers as every other refusal does, problem+json with a code.
/// </summary>
public sealed class AllowedHostsMiddleware(RequestDelegate next, OperatorAuthSettings settings)
{
    private readonly AllowedHosts _allowed = new(settings.AllowedHosts);

    public Task InvokeAsync(HttpContext context) => _allowed.Allows(context.Request.Host) ? next(context) : AllowedHosts.RefuseAsync(context);
}

/// <summary>The names a listener answers to (<c>*</c> among them: any), and the answer to any other.</summary>
public sealed class AllowedHosts(IEnumerable<string> names)
{
    private readonly StringSegment[] _allowed = names.Select(h => new StringSegment(h)).ToArray();
    private readonly bool _anyHost = names.Contains("*");

    public bool Allows(HostString host) =>
        // No Host at all is HTTP/1.0 (HTTP/1.1 without one never gets here: Kestrel refuses it), as ASP.NET Core's filter allows.
        _anyHost || !host.HasValue || HostString.MatchesAny(host.Host, _allowed);

    /// <summary>400 problem+json; the name is not quoted back: it is whatever the caller made up.</summary>
    public static Task RefuseAsync(HttpContext context) =>
        TypedResults.Problem(new ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "unknown host",
            Detail = "this hive answers only to the names it is known by (localhost, 127.0.0.1, [::1], its listen addresses and AllowedHosts); " +
                "the request's Host header named another",
            Extensions = { ["code"] = ErrorCodes.BadRequest },
        }).ExecuteAsync(context);
}
