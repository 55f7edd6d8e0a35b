using Carter;
using Hive.Shared.Audit;
using Hive.Shared.Errors;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>The operator's turn-stats routes (turns, stats, transcripts, the conversation and its slash commands): routing only.</summary>
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

        Get("/{name}/transcript", async (req, res) =>
        {
            // ?turn=running: the turn still running (its entries have no turn yet).
            var turn = req.Query["turn"].ToString() == "running" ? 0 : req.QueryLong("turn");
            if (turn == 0 && req.Query["turn"].ToString() != "running") throw new BadRequestException("turn must be a turn id or running");
            await res.Ok(await mediator.Send(
                new ListTranscript.Query(
                    req.RouteValues["name"]?.ToString() ?? "",
                    turn,
                    req.QueryLong("before"),
                    (int)Math.Min(req.QueryLong("limit") ?? ListTranscript.DefaultLimit, int.MaxValue)),
                req.HttpContext.RequestAborted));
        });

        Get("/{name}/conversation", async (req, res) =>
            await res.Ok(await mediator.Send(new ReadConversation.Query(req.RouteValues["name"]?.ToString() ?? ""), req.HttpContext.RequestAborted)));

        Post("/{name}/slash", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<SlashBody>();
            await res.Ok(await mediator.Send(new SlashCommand.Command(req.RouteValues["name"]?.ToString() ?? "", body.Command, Actor.Operator),
                req.HttpContext.RequestAborted));
        });
    }

    private sealed record SlashBody(string? Command);
}
