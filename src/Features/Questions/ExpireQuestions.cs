using Dapper;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>
/// One sweep: every open question past its <c>expires_at</c>, soonest deadline first, resolves with <c>[expired]</c> by
/// <c>ttl</c>, and its asker is told as for any answer (a message from <c>hive</c>). Each batch is one change, so a
/// crash leaves each question either open (expired by the next sweep) or resolved and told, never half of it.
/// </summary>
public static class ExpireQuestions
{
    /// <summary>The sweep itself is not a change: each batch is its own, committed before the next. Returns how many expired.</summary>
    public sealed record Command : IRequest<int>;

    /// <summary>Questions resolved per transaction.</summary>
    private const int Batch = 64;

    /// <summary>What makes a question due (its parameter: <c>@Now</c>); the look and the batch ask the same.</summary>
    private const string Due = "answered_at IS NULL AND expires_at <= @Now";

    internal sealed class Handler(IMediator mediator, IDb db, TimeProvider clock) : IRequestHandler<Command, int>
    {
        public async Task<int> Handle(Command command, CancellationToken cancellationToken)
        {
            // A look first, outside any write transaction: the sweep runs every second, and a batch is a change, which
            // takes the write lock (BEGIN IMMEDIATE) that the hive's other writers would then wait behind for nothing.
            if (!AnyDue(clock.GetUtcNow())) return 0;
            var expired = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                var batch = await mediator.Send(new ExpireBatch(Batch), CancellationToken.None);
                expired += batch;
                if (batch < Batch) break;
            }
            return expired;
        }

        private bool AnyDue(DateTimeOffset now)
        {
            using var connection = db.Open();
            return connection.ExecuteScalar<long>($"SELECT EXISTS (SELECT 1 FROM questions WHERE {Due})", new { Now = now }) == 1;
        }
    }

    internal sealed record ExpireBatch(int Limit) : IRequest<int>, IChangesState;

    internal sealed class ExpireBatchHandler(StateChanges changes, IMediator mediator, TimeProvider clock)
        : IRequestHandler<ExpireBatch, int>
    {
        public async Task<int> Handle(ExpireBatch command, CancellationToken cancellationToken)
        {
            // Selected and resolved in one write transaction (BEGIN IMMEDIATE): an answer that committed first has set
            // answered_at and is skipped here; one that comes after finds answered_at set and is a conflict.
            const string dueFirst = $"SELECT id FROM questions WHERE {Due} ORDER BY expires_at, id LIMIT @Limit";
            var now = clock.GetUtcNow();
            var ids = changes.Current.Query<long>(dueFirst, new { Now = now, command.Limit });
            if (ids.Count == 0) return 0;
            var resolved = await mediator.Send(new ResolveQuestions.Command(ids, ResolveQuestions.Expired, ResolveQuestions.ExpiredBy,
                now, From: AgentNames.Hive), CancellationToken.None);
            return resolved.Count;
        }
    }
}
