using Hive.Features.StateFiles;
using Microsoft.Extensions.DependencyInjection;
using Hive.Shared.Errors;
using Hive.Shared.Socket;

namespace Hive.Features.Messages;

/// <summary>The agents' verbs of the broker: <c>send</c>, <c>recv</c>, <c>ack</c> and <c>request_next_turn</c>.</summary>
internal sealed class MessagesSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map("send", async request =>
        {
            var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            var metrics = request.Services.GetRequiredService<MessagesMetrics>();
            var args = request.Bind<SendArgs>();
            if (args.To == BroadcastMessage.Everyone)
            {
                var broadcast = await request.Mediator.Send(
                    new BroadcastMessage.Command(request.Agent, args.Body, args.ClientId, args.InReplyTo), request.CancellationToken);
                // `id` as for any send (DESIGN.md's reply): the first row's, which is also the broadcast's id.
                metrics.SendHandled(startedAt);
                return new { id = broadcast.BroadcastId, broadcast_id = broadcast.BroadcastId, ids = broadcast.Messages.Select(m => m.Id) };
            }
            var message = await request.Mediator.Send(
                new SendMessage.Command(request.Agent, args.To, args.Body, args.ClientId, args.InReplyTo), request.CancellationToken);
            metrics.SendHandled(startedAt);
            return new { id = message.Id };
        });

        verbs.Map("recv", async request =>
        {
            var args = request.Bind<RecvArgs>();
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
            return max == 1 ? new { message = messages.FirstOrDefault() } : new { messages };
        });

        verbs.Map("request_next_turn", async request =>
        {
            var turn = await request.Mediator.Send(new RequestNextTurn.Command(request.Agent), request.CancellationToken);
            return new { id = turn.Id, queued = turn.Queued };
        });

        verbs.Map("ack", async request =>
        {
            var args = request.Bind<AckArgs>();
            if (args.Id is not { } id) throw new BadRequestException("ack needs an integer id");
            await request.Mediator.Send(new AcknowledgeMessage.Command(request.Agent, id), request.CancellationToken);
            return null;
        });
    }

    private sealed record SendArgs(string? To, string? Body, string? ClientId, long? InReplyTo);

    private sealed record RecvArgs(int? WaitMs, long? Ack, int? Max);

    private sealed record AckArgs(long? Id);
}
