using System.Text;
using FluentValidation;
using Hive.Contracts.TurnStats;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// The harness reports the session its program runs (socket verb <c>session</c>, as soon as the program names it), asks
/// a compaction of the next turn (its context ended above <c>--compact-at</c>), or forgets a session its program could
/// not resume (<c>forget</c>: the next turn starts afresh instead of failing the same way forever).
/// </summary>
public static class SetSession
{
    public const int MaxSessionIdBytes = 128;

    public sealed record Command(string Agent, string? SessionId, bool? CompactNext, string? Forget = null) : IRequest<ConversationView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() =>
            RuleFor(c => c.SessionId).Must(id => id is null || (id.Length > 0 && Encoding.UTF8.GetByteCount(id) <= MaxSessionIdBytes && !id.Any(char.IsControl)))
                .WithName("session_id").WithMessage($"session_id must be 1 to {MaxSessionIdBytes} UTF-8 bytes, without control characters");
    }

    internal sealed class Handler(StateChanges changes, TimeProvider clock) : IRequestHandler<Command, ConversationView>
    {
        public Task<ConversationView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var current = ConversationRow.Read(change, command.Agent);
            var now = clock.GetUtcNow();
            var after = current with
            {
                // Forget only the session named: one the program named since is kept.
                SessionId = command.SessionId ?? (command.Forget is not null && command.Forget == current.SessionId ? null : current.SessionId),
                CompactNext = command.CompactNext ?? current.CompactNext,
                UpdatedAt = now,
            };
            if (after with { UpdatedAt = current.UpdatedAt } == current) return Task.FromResult(current);
            ConversationRow.Write(change, after, now);
            change.Raise(new ConversationChanged(after));
            return Task.FromResult(after);
        }
    }
}
