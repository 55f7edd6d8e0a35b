using Hive.Shared.Socket;

namespace Hive.Features.Messages;

/// <summary>The agents' verbs of the broker: <c>send</c> and <c>recv</c>.</summary>
internal sealed class MessagesSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map("send", async request =>
        {
            var args = request.Bind<SendArgs>();
            var message = await request.Mediator.Send(new SendMessage.Command(request.Agent, args.To, args.Body), request.CancellationToken);
            return new { id = message.Id };
        });

        verbs.Map("recv", async request =>
        {
            var args = request.Bind<RecvArgs>();
            var mediator = request.Mediator;
            var message = await mediator.Send(new ReceiveMessage.Query(request.Agent, args.WaitMs), request.CancellationToken);
            if (message is { DeliveredAt: { } deliveredAt })
                request.UndoIfUnreplied = () => mediator.Send(new ReturnMessage.Command(message.Id, deliveredAt));
            return new { message };
        });
    }

    private sealed record SendArgs(string? To, string? Body);

    private sealed record RecvArgs(int? WaitMs);
}
