using Carter;
using Hive.Features.Gateway.Calls;
using Hive.Features.Gateway.Recordings;
using Hive.Shared.Errors;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Gateway;

/// <summary>The operator's model-call routes: an agent's calls (or one turn's), the switch for recording them, and one call with its recorded bodies. Routing only.</summary>
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
    }

    private sealed record RecordingBody(bool? On);
}
