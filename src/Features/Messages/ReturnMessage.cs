using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// A <c>recv</c> handed messages out but its reply could not be written (the agent hung up): they go back in line at
/// once, as if never handed out (the agent cannot have seen them), instead of waiting out their ack timeout.
/// </summary>
public static class ReturnMessage
{
    /// <param name="InFlightUntil">The hand-out being undone: a later hand-out of the same message is left alone.</param>
    public sealed record Command(string Agent, IReadOnlyList<long> Ids, DateTimeOffset InFlightUntil) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, InboxSignals signals) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            const string undo = """
                UPDATE messages SET in_flight_until = NULL, delivery_count = delivery_count - 1
                WHERE id IN @Ids AND recipient = @Agent AND in_flight_until = @InFlightUntil
                  AND delivered_at IS NULL AND undeliverable_at IS NULL
                """;
            var change = changes.Current;
            if (change.Execute(undo, command) > 0) change.AfterPublished(() => signals.Notify(command.Agent));
            return Unit.Task;
        }
    }
}
