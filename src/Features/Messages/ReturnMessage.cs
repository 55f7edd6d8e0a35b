using Hive.Features.StateFiles;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// A <c>recv</c> took a message but its reply could not be written (the agent hung up): the message goes back to the
/// recipient's inbox, undelivered, and the next <c>recv</c> gets it. The dashboard hears a <c>delivered</c> event
/// whose <c>delivered_at</c> is null again.
/// </summary>
public static class ReturnMessage
{
    public sealed record Command(long Id, DateTimeOffset DeliveredAt) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, InboxSignals signals, IFileRefScanner fileRefs) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            const string undo = $"""
                UPDATE messages SET delivered_at = NULL WHERE id = @Id AND delivered_at = @DeliveredAt
                RETURNING {MessageRow.Columns};
                """;
            var change = changes.Current;
            if (change.QuerySingleOrDefault<MessageRow>(undo, command) is { } row)
            {
                change.Raise(new MessageDelivered(row.View(fileRefs)));
                change.AfterPublished(() => signals.Notify(row.Recipient));
            }
            return Unit.Task;
        }
    }
}
