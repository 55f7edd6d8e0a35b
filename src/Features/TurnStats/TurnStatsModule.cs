using Carter;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>The operator's turn-stats route: routing only.</summary>
public sealed class TurnStatsModule : CarterModule
{
    public TurnStatsModule(IMediator mediator) : base("/api/agents")
    {
        Get("/{name}/turns", async (req, res) =>
            await res.Ok(await mediator.Send(
                new ListTurns.Query(
                    req.RouteValues["name"]?.ToString() ?? "",
                    req.QueryLong("before"),
                    (int)Math.Min(req.QueryLong("limit") ?? ListTurns.DefaultLimit, int.MaxValue)),
                req.HttpContext.RequestAborted)));

        Get("/{name}/stats", async (req, res) =>
            await res.Ok(await mediator.Send(new AgentStats.Query(req.RouteValues["name"]?.ToString() ?? ""), req.HttpContext.RequestAborted)));
    }
}
