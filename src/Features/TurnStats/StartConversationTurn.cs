using Hive.Contracts.TurnStats;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// The harness at a turn's start (socket verb <c>conversation</c>): what the turn should do, with the operator's one-shot
/// asks taken in the same change (a <c>/clear</c> drops the session here, so a crash after it never resumes the old one;
/// a <c>/compact</c> taken by a turn that then crashes is not asked again: the watermark asks again if still needed).
/// </summary>
public static class StartConversationTurn
{
    public sealed record Command(string Agent) : IRequest<ConversationView>, IChangesState;

    internal sealed class Handler(StateChanges changes, TimeProvider clock) : IRequestHandler<Command, ConversationView>
    {
        public Task<ConversationView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var current = ConversationRow.Read(change, command.Agent);
            if (current.CompactNext || current.ClearNext)
            {
                var now = clock.GetUtcNow();
                var after = current with { SessionId = current.ClearNext ? null : current.SessionId, CompactNext = false, ClearNext = false, UpdatedAt = now };
                ConversationRow.Write(change, after, now);
                change.Raise(new ConversationChanged(after));
            }
            // What this turn does: the asks as they were, the session as it is now.
            return Task.FromResult(current with { SessionId = current.ClearNext ? null : current.SessionId });
        }
    }
}
