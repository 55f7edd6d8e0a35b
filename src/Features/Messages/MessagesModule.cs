using Carter;
using Hive.Shared.Agents;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>The operator's message routes: routing only.</summary>
public sealed class MessagesModule : CarterModule
{
    public MessagesModule(IMediator mediator)
    {
        Post("/api/messages", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<SendBody>();
            if (body.To == BroadcastMessage.Everyone)
            {
                var broadcast = await mediator.Send(
                    new BroadcastMessage.Command(AgentNames.Operator, body.Body, body.ClientId, body.InReplyTo), req.HttpContext.RequestAborted);
                await res.Created($"/api/messages?before={broadcast.Messages.Max(m => m.Id) + 1}&limit={broadcast.Messages.Count}", broadcast);
                return;
            }
            var message = await mediator.Send(
                new SendMessage.Command(AgentNames.Operator, body.To, body.Body, body.ClientId, body.InReplyTo), req.HttpContext.RequestAborted);
            await res.Created($"/api/messages?before={message.Id + 1}&limit=1", message);
        });

        Get("/api/messages", async (req, res) =>
            await res.Ok(await mediator.Send(
                new ListMessages.Query(req.QueryLong("before"), (int)Math.Min(req.QueryLong("limit") ?? ListMessages.DefaultLimit, int.MaxValue)),
                req.HttpContext.RequestAborted)));

        Get("/api/inbox", async (req, res) =>
            await res.Ok(await mediator.Send(
                new ListInbox.Query(req.QueryLong("before"), (int)Math.Min(req.QueryLong("limit") ?? ListMessages.DefaultLimit, int.MaxValue)),
                req.HttpContext.RequestAborted)));
    }

    public sealed record SendBody(string? To, string? Body, string? ClientId, long? InReplyTo);
}
