using Dapper;
using FluentValidation;
using Hive.Contracts.Governance;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// <c>watch_turn</c>: the harness parks this on the turn's own connection while its command runs. It answers at once
/// when the host tells the turn to stop (halt, pause, its time limit: stop the command within <c>grace_ms</c>) or when the
/// turn is over, else <c>running</c> after <c>wait_ms</c>. Another agent's turn is not found.
/// </summary>
public static class WatchTurn
{
    public const int MaxWaitMs = 30_000;

    public sealed record Query(string Agent, long? TurnId, int? WaitMs) : IRequest<WatchTurnReply>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.TurnId).NotNull().GreaterThan(0).WithName("turn_id").WithMessage("turn_id must be a turn id");
            RuleFor(q => q.WaitMs).InclusiveBetween(0, MaxWaitMs).When(q => q.WaitMs is not null)
                .WithName("wait_ms").WithMessage($"wait_ms must be between 0 and {MaxWaitMs}");
        }
    }

    internal sealed class Handler(Admission admission, IDb db, TimeProvider clock) : IRequestHandler<Query, WatchTurnReply>
    {
        public async Task<WatchTurnReply> Handle(Query query, CancellationToken cancellationToken)
        {
            var turnId = query.TurnId!.Value;
            if (admission.Find(turnId) is not { } slot || slot.Agent != query.Agent) return Ended(query.Agent, turnId);
            if (Stop(slot) is { } stop) return stop;
            var wait = Task.Delay(TimeSpan.FromMilliseconds(query.WaitMs ?? MaxWaitMs), clock, cancellationToken);
            await Task.WhenAny(slot.Stopping.Task, slot.Ended.Task, wait);
            cancellationToken.ThrowIfCancellationRequested();
            if (slot.Ended.Task.IsCompleted) return new WatchTurnReply("ended", slot.Ended.Task.Result, null);
            return Stop(slot) ?? new WatchTurnReply("running", null, null);
        }

        private WatchTurnReply? Stop(Admission.Slot slot) => slot.Stop is { } stop
            ? new WatchTurnReply("stop", stop.Reason, (long)Math.Max(0, (stop.Deadline - clock.GetUtcNow()).TotalMilliseconds))
            : null;

        private WatchTurnReply Ended(string agent, long turnId)
        {
            using var connection = db.Open();
            var reason = connection.QuerySingleOrDefault<string>(
                "SELECT coalesce(end_reason, 'ended') FROM governed_turns WHERE id = @turnId AND agent = @agent", new { turnId, agent });
            return reason is null ? throw new NotFoundException($"no turn {turnId} was granted to {agent}") : new WatchTurnReply("ended", reason, null);
        }
    }
}
