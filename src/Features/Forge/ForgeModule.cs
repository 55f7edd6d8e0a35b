using Carter;
using Hive.Features.Forge.Webhooks;
using Hive.Shared.Errors;
using Hive.Shared.Http;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>The operator's forge routes, and the forge's own webhook route (signed, not signed in): routing only.</summary>
public sealed class ForgeModule : CarterModule
{
    /// <summary>Webhook bodies read at once (a delivery refused with 503 shows as failed in Forgejo, which can redeliver it).</summary>
    public const int MaxBodiesRead = 4;

    public ForgeModule(IMediator mediator, IOptions<ForgeOptions> options)
    {
        Get("/api/forge", async (req, res) => await res.Ok(await mediator.Send(new ReadForgeStatus.Query(), req.HttpContext.RequestAborted)));
        Post("/api/forge/sweep", async (req, res) => await res.Ok(await mediator.Send(new SweepForge.Command(), req.HttpContext.RequestAborted)));
        // Anyone may post here, so bodies are read a few at a time (the rest are told to come back), only with a forge, and
        // only when they come with a signature some body could match: an unsigned post is refused before its body is read.
        var readers = new SemaphoreSlim(MaxBodiesRead);
        Post(ReceiveForgeWebhook.Route, async (req, res) =>
        {
            if (!options.Value.Enabled) throw new NotFoundException("no forge is configured here (Hive:Forge:Url is empty)");
            var signature = WebhookBody.Header(req, "Signature");
            if (WebhookSecret.Stated(signature) is null)
                throw new UnauthorizedException("the delivery's signature (X-Forgejo-Signature) is missing or is not a hex HMAC-SHA256");
            if (!await readers.WaitAsync(TimeSpan.Zero, req.HttpContext.RequestAborted))
                throw new BusyException($"{MaxBodiesRead} webhook deliveries are being read; try again");
            ReceivedBody body;
            try
            {
                using var mac = req.HttpContext.RequestServices.GetRequiredService<WebhookSecret>().NewMac();
                body = await WebhookBody.ReadAsync(req, options.Value.WebhookMaxBytes, mac);
            }
            finally
            {
                readers.Release();
            }
            using (body)
            {
                var command = new ReceiveForgeWebhook.Command(WebhookBody.Header(req, "Event"), WebhookBody.Header(req, "Delivery"), signature, body);
                await res.Ok(await mediator.Send(command, req.HttpContext.RequestAborted));
            }
        });
    }
}
