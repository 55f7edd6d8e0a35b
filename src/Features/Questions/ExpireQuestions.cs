using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
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

    internal sealed class Handler(IMediator mediator) : IRequestHandler<Command, int>
    {
        public async Task<int> Handle(Command command, CancellationToken cancellationToken)
        {
            var expired = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                var batch = await mediator.Send(new ExpireBatch(Batch), CancellationToken.None);
                expired += batch;
                if (batch < Batch) break;
            }
            return expired;
        }
    }

    internal sealed record ExpireBatch(int Limit) : IRequest<int>, IChangesState;

    internal sealed class ExpireBatchHandler(StateChanges changes, IMediator mediator, IAgentDirectory agents, IFileRefScanner fileRefs, TimeProvider clock)
        : IRequestHandler<ExpireBatch, int>
    {
        public async Task<int> Handle(ExpireBatch command, CancellationToken cancellationToken)
        {
            // Selected and resolved in one statement inside BEGIN IMMEDIATE: an answer that committed first has set
            // answered_at and is skipped here; one that comes after finds answered_at set and is a conflict.
            const string expire = $"""
                UPDATE questions SET answer = @Answer, answerer = @Answerer, answered_at = @Now
                WHERE id IN (SELECT id FROM questions
                             WHERE answered_at IS NULL AND expires_at <= @Now
                             ORDER BY expires_at, id LIMIT @Limit)
                RETURNING {QuestionRow.Columns};
                """;
            var change = changes.Current;
            var resolved = change.Query<QuestionRow>(expire,
                    new { Answer = ResolvedQuestions.Expired, Answerer = ResolvedQuestions.ExpiredBy, Now = clock.GetUtcNow(), command.Limit })
                .OrderBy(q => q.ExpiresAt).ThenBy(q => q.Id)
                .Select(q => q.View(fileRefs))
                .ToList();
            if (resolved.Count == 0) return 0;

            // An asker removed since it asked has no inbox left; its question still closes.
            var told = resolved.Where(q => agents.IsAgent(q.Asker)).Select(q => ResolvedQuestions.AnswerMessage(q, AgentNames.Hive)).ToList();
            if (told.Count > 0) await mediator.Send(new AppendMessages.Command(told), CancellationToken.None);
            var waiting = resolved.Select(q => q.Asker).Distinct()
                .ToDictionary(a => a, a => QuestionsSql.WaitingOf(change.Connection, a, change.Transaction), StringComparer.Ordinal);
            // Counted once per party after the whole batch: every event of the batch carries the final numbers.
            var open = resolved.SelectMany(q => q.Target is { } t ? [q.Asker, t] : new[] { q.Asker }).Distinct()
                .ToDictionary(a => a, a => QuestionsSql.OpenOf(change.Connection, a, change.Transaction), StringComparer.Ordinal);
            foreach (var question in resolved)
                change.Raise(new QuestionResolved(question, waiting[question.Asker],
                    new OpenQuestions(open[question.Asker], question.Target is { } target ? open[target] : null)));
            return resolved.Count;
        }
    }
}
