using Carter;
using Hive.Contracts.Gateway;
using Hive.Features.Gateway.Calls;
using Hive.Features.Gateway.Recordings;
using Hive.Features.Gateway.Replays;
using Hive.Shared.Errors;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Gateway;

/// <summary>The operator's model-call routes: an agent's calls (or one turn's), the switch for recording them, one call with its recorded bodies, replays of recorded turns, and the model servers the host runs. Routing only.</summary>
public sealed class GatewayModule : CarterModule
{
    public GatewayModule(IMediator mediator) : base("/api")
    {
        Get("/agents/{name}/calls", async (req, res) =>
            await res.Ok(await mediator.Send(new ListCalls.Query(req.RouteValues["name"]?.ToString() ?? "", req.QueryLong("turn"), req.QueryLong("before"),
                (int)Math.Min(req.QueryLong("limit") ?? ListCalls.DefaultLimit, int.MaxValue)), req.HttpContext.RequestAborted)));

        Put("/agents/{name}/calls/recording", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<RecordingBody>();
            if (body?.On is not { } on) throw new BadRequestException("the body must be {\"on\": true} or {\"on\": false}");
            await res.Ok(await mediator.Send(new SetCallRecording.Command(req.RouteValues["name"]?.ToString() ?? "", on), req.HttpContext.RequestAborted));
        });

        Get("/calls/{id}", async (req, res) =>
        {
            if (!long.TryParse(req.RouteValues["id"]?.ToString(), out var id) || id <= 0) throw new NotFoundException("no such model call");
            await res.Ok(await mediator.Send(new ReadCall.Query(id), req.HttpContext.RequestAborted));
        });

        Get("/turns/{id}", async (req, res) =>
        {
            if (!long.TryParse(req.RouteValues["id"]?.ToString(), out var id) || id <= 0) throw new NotFoundException("no such turn");
            await res.Ok(await mediator.Send(new ReadTurnView.Query(id), req.HttpContext.RequestAborted));
        });

        Post("/turns/{id}/replay", async (req, res) =>
        {
            if (!long.TryParse(req.RouteValues["id"]?.ToString(), out var id) || id <= 0) throw new NotFoundException("no such turn");
            var body = await req.ReadBodyAsync<ReplayRequest>() ?? new ReplayRequest();
            var replay = await mediator.Send(new StartReplay.Command(id, body.Into, body.OnDivergence, body.Env, body.Preset), req.HttpContext.RequestAborted);
            await res.Created($"/api/replays/{replay.Id}", replay);
        });

        Post("/agents/{name}/fork", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<ForkRequest>() ?? new ForkRequest();
            var fork = await mediator.Send(new ForkConversation.Command(req.RouteValues["name"]?.ToString() ?? "", body.AtTurn, body.Model, body.Name, body.Message),
                req.HttpContext.RequestAborted);
            await res.Created($"/api/agents/{fork.Agent}", fork);
        });

        Get("/providers/served", async (req, res) => await res.Ok(await mediator.Send(new Served.ReadServed.Query(), req.HttpContext.RequestAborted)));

        Get("/providers/{name}/served", async (req, res) =>
            await res.Ok(await mediator.Send(new Served.ReadServed.One(req.RouteValues["name"]?.ToString() ?? ""), req.HttpContext.RequestAborted)));

        Get("/replays", async (req, res) =>
            await res.Ok(await mediator.Send(new ListReplays.Query(req.Query["agent"].FirstOrDefault()), req.HttpContext.RequestAborted)));

        Get("/replays/{id}", async (req, res) =>
        {
            if (!long.TryParse(req.RouteValues["id"]?.ToString(), out var id) || id <= 0) throw new NotFoundException("no such replay");
            await res.Ok(await mediator.Send(new ReadReplay.Query(id), req.HttpContext.RequestAborted));
        });
    }

    private sealed record RecordingBody(bool? On);
}
