using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// An agent (re)started or crashed: whatever it had taken and not acknowledged can never be acknowledged by the process
/// that took it, so it is due again now rather than after its ack timeout (hyperhive's harness did the same at boot).
/// The messages come out of flight as if their timeout had passed: handed out again flagged <c>redelivered</c>, or set
/// aside when they have run out of deliveries.
/// </summary>
public static class ReleaseInFlightMessages
{
    public sealed record Command(string Agent) : IRequest<int>, IChangesState;

    internal sealed class Handler(StateChanges changes, InboxSignals signals, TimeProvider clock) : IRequestHandler<Command, int>
    {
        public Task<int> Handle(Command command, CancellationToken cancellationToken)
        {
            const string release = """
                UPDATE messages SET in_flight_until = @Now
                WHERE recipient = @Agent AND in_flight_until > @Now AND delivered_at IS NULL AND undeliverable_at IS NULL
                """;
            var change = changes.Current;
            var released = change.Execute(release, new { command.Agent, Now = clock.GetUtcNow() });
            if (released > 0) change.AfterPublished(() => signals.Notify(command.Agent));
            return Task.FromResult(released);
        }
    }
}
