using Carter;
using Hive.Features.Egress.Record;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Egress;

/// <summary>The operator's view of an agent's egress: its last attempts, refused first. Routing only.</summary>
public sealed class EgressModule : CarterModule
{
    public EgressModule(IMediator mediator) : base("/api") =>
        Get("/agents/{name}/net", async (req, res) =>
            await res.Ok(await mediator.Send(new ListAttempts.Query(req.RouteValues["name"]?.ToString() ?? "",
                (int)Math.Clamp(req.QueryLong("limit") ?? ListAttempts.DefaultLimit, 0, int.MaxValue)), req.HttpContext.RequestAborted)));
}
