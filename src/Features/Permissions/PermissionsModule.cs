using Carter;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Permissions;

/// <summary>The operator's view of an agent's permission requests and their decisions. Routing only.</summary>
public sealed class PermissionsModule : CarterModule
{
    public PermissionsModule(IMediator mediator) : base("/api") =>
        Get("/agents/{name}/permissions", async (req, res) =>
            await res.Ok(await mediator.Send(new ListPermissionRequests.Query(req.RouteValues["name"]?.ToString() ?? "",
                req.QueryLong("before"), req.QueryLong("limit") is { } limit ? (int)Math.Clamp(limit, 0, int.MaxValue) : null), req.HttpContext.RequestAborted)));
}
