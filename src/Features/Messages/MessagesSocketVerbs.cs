using Hive.Contracts.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Errors;
using Hive.Shared.Socket;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Messages;

/// <summary>The agents' verbs of the broker: <c>send</c>, <c>recv</c>, <c>ack</c> and <c>request_next_turn</c>.</summary>
internal sealed class MessagesSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map(MessageVerbs.Send, async (request, args) =>
        {
            var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            var metrics = request.Services.GetRequiredService<MessagesMetrics>();
            if (args.To == BroadcastMessage.Everyone)
            {
                var broadcast = await request.Mediator.Send(
                    new BroadcastMessage.Command(request.Agent, args.Body, args.ClientId, args.InReplyTo), request.CancellationToken);
                // `id` as for any send (DESIGN.md's reply): the first row's, which is also the broadcast's id.
                metrics.SendHandled(startedAt);
                return new SendReply(broadcast.BroadcastId, broadcast.BroadcastId, [.. broadcast.Messages.Select(m => m.Id)]);
            }
            var message = await request.Mediator.Send(
                new SendMessage.Command(request.Agent, args.To, args.Body, args.ClientId, args.InReplyTo), request.CancellationToken);
            metrics.SendHandled(startedAt);
            return new SendReply(message.Id, null, null);
        });

        verbs.Map(MessageVerbs.Recv, async (request, args) =>
        {
            var mediator = request.Mediator;
            var max = args.Max ?? 1;
            var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            var received = await mediator.Send(
                new ReceiveMessage.Query(request.Agent, args.WaitMs, args.Ack, max), request.CancellationToken);
            request.Services.GetRequiredService<MessagesMetrics>().Received(request.Agent, startedAt, received.Messages);
            if (received.Messages.Count > 0)
            {
                var ids = received.Messages.Select(m => m.Id).ToList();
                request.UndoIfUnreplied = () => mediator.Send(new ReturnMessage.Command(request.Agent, ids, received.InFlightUntil));
            }
            var allowList = request.Services.GetRequiredService<IStateFileAllowList>();
            var messages = received.Messages.Select(m => m.ForRecipient(request.Agent, allowList)).ToList();
            return max == 1 ? new RecvOneReply(messages.FirstOrDefault()) : (RecvReply)new RecvManyReply(messages);
        });

        verbs.Map(MessageVerbs.RequestNextTurn, async (request, _) =>
        {
            var turn = await request.Mediator.Send(new RequestNextTurn.Command(request.Agent), request.CancellationToken);
            return new NextTurnReply(turn.Id, turn.Queued);
        });

        verbs.Map(MessageVerbs.Ack, async (request, args) =>
        {
            if (args.Id is not { } id) throw new BadRequestException("ack needs an integer id");
            await request.Mediator.Send(new AcknowledgeMessage.Command(request.Agent, id), request.CancellationToken);
        });
    }
}
