using Carter;
using Hive.Features.Forge.Webhooks;
using Hive.Shared.Http;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>The operator's forge routes, and the forge's own webhook route (signed, not signed in): routing only.</summary>
public sealed class ForgeModule : CarterModule
{
    public ForgeModule(IMediator mediator, IOptions<ForgeOptions> options)
    {
        Get("/api/forge", async (req, res) => await res.Ok(await mediator.Send(new ReadForgeStatus.Query(), req.HttpContext.RequestAborted)));
        Post("/api/forge/sweep", async (req, res) => await res.Ok(await mediator.Send(new SweepForge.Command(), req.HttpContext.RequestAborted)));
        Post(ReceiveForgeWebhook.Route, async (req, res) =>
        {
            var body = await WebhookBody.ReadAsync(req, options.Value.WebhookMaxBytes);
            var command = new ReceiveForgeWebhook.Command(
                WebhookBody.Header(req, "Event"), WebhookBody.Header(req, "Delivery"), WebhookBody.Header(req, "Signature"), body);
            await res.Ok(await mediator.Send(command, req.HttpContext.RequestAborted));
        });
    }
}
