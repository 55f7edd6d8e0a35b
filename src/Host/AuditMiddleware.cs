using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Microsoft.AspNetCore.Routing;

namespace Hive.Host;

/// <summary>
/// Every signed-in mutation of the API (POST, PUT, PATCH, DELETE under <c>/api</c>) goes to the audit log once answered:
/// the route's template, the target named in it, and the status. Never a body (a secret's value travels in one) and
/// never a query string. Placed after sign-in: a stranger's refused attempts are not the operator's actions.
/// </summary>
public sealed class AuditMiddleware(RequestDelegate next, IAuditLog audit, TimeProvider clock)
{
    private static readonly string[] TargetKeys = ["name", "scope", "provider", "id"];

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!request.Path.StartsWithSegments("/api") || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
        {
            await next(context);
            return;
        }
        int? failed = null;
        try
        {
            await next(context);
        }
        catch (Exception e)
        {
            failed = Hive.Shared.Errors.HiveError.From(e).Status; // what the exception handler further out will answer
            throw;
        }
        finally
        {
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } template ? "/" + template.TrimStart('/') : request.Path.Value;
            var target = TargetKeys.Select(k => context.GetRouteValue(k)?.ToString()).FirstOrDefault(v => v is not null);
            audit.Record(new AuditEntry(clock.GetUtcNow(), AgentNames.Operator, $"{request.Method} {route}", target,
                (failed ?? context.Response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }
}
