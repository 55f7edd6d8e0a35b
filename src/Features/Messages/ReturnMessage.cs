using Dapper;
using Hive.Features.StateFiles;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// A <c>recv</c> took a message but its reply could not be written (the agent hung up): the message goes back to the
/// recipient's inbox, undelivered, and the next <c>recv</c> gets it. The dashboard hears a <c>delivered</c> event
/// whose <c>delivered_at</c> is null again.
/// </summary>
public static class ReturnMessage
{
    public sealed record Command(long Id, DateTimeOffset DeliveredAt) : IRequest;

    internal sealed class Handler(IDb db, InboxSignals signals, StateChangeGate gate, IMediator mediator, IFileRefScanner fileRefs)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            const string undo = $"""
                UPDATE messages SET delivered_at = NULL WHERE id = @Id AND delivered_at = @DeliveredAt
                RETURNING {MessageRow.Columns};
                """;
            MessageView? message = null;
            using (await gate.EnterChangeAsync(CancellationToken.None))
            {
                using (var connection = db.Open())
                    message = connection.Query<MessageRow>(undo, command).SingleOrDefault()?.View(fileRefs);
                if (message is not null) await mediator.Publish(new MessageDelivered(message), CancellationToken.None);
            }
            if (message is not null) signals.Notify(message.To);
            return Unit.Value;
        }
    }
}
