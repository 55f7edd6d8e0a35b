using Hive.Contracts.Questions;
using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>
/// The one step every resolution takes, whoever resolves (the target or the operator answering, a cancel, the expiry
/// sweep): the named questions that are still open get their answer, the asker is told with one message of kind
/// <c>answer</c>, and <see cref="QuestionResolved"/> is raised for each. It joins the caller's change, so the guards the
/// caller checked, the answer and the asker's message commit together.
/// </summary>
internal static class ResolveQuestions
{
    /// <summary>The operator's cancel: the answer an open question resolves with.</summary>
    public const string Cancelled = "[cancelled]";

    /// <summary>The deadline passed unanswered: the answer and the answerer it resolves with.</summary>
    public const string Expired = "[expired]";
    public const string ExpiredBy = "ttl";

    /// <summary>
    /// Resolves <paramref name="Ids"/> with <paramref name="Answer"/> by <paramref name="Answerer"/> at <paramref name="At"/>; the
    /// asker's message comes from <paramref name="From"/> (the answerer unless given). The asker is not told of its own
    /// cancel, nor <c>hive</c> (the host asks for itself and hears of the answer through <see cref="QuestionResolved"/>), nor (unless <paramref name="TellRemovedAsker"/>) when it has been removed since it asked: it has no inbox
    /// left. An answer keeps telling a removed asker (that answer fails validation), as it always has.
    /// Returns the questions this step resolved, in the order of <paramref name="Ids"/>; one already resolved is left out.
    /// </summary>
    public sealed record Command(IReadOnlyList<long> Ids, string Answer, string Answerer, DateTimeOffset At,
        string? From = null, bool TellRemovedAsker = false) : IRequest<IReadOnlyList<QuestionView>>, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, IAgentDirectory agents, IFileRefScanner fileRefs,
        Hive.Shared.Search.ISearchIndex search)
        : IRequestHandler<Command, IReadOnlyList<QuestionView>>
    {
        public async Task<IReadOnlyList<QuestionView>> Handle(Command command, CancellationToken cancellationToken)
        {
            // The change began with BEGIN IMMEDIATE, so racing resolutions queue; the answered_at guard is what keeps a
            // question to one resolution whatever the isolation.
            const string resolve = $"""
                UPDATE questions SET answer = @Answer, answerer = @Answerer, answered_at = @At
                WHERE id IN @Ids AND answered_at IS NULL
                RETURNING {QuestionRow.Columns};
                """;
            var change = changes.Current;
            var order = command.Ids.Select((id, index) => (id, index)).ToDictionary(p => p.id, p => p.index);
            var resolved = change.Query<QuestionRow>(resolve, new { command.Ids, command.Answer, command.Answerer, command.At })
                .OrderBy(q => order[q.Id])
                .Select(q => q.View(fileRefs))
                .ToList();
            if (resolved.Count == 0) return resolved;
            // Numbered one by one in this write transaction, so the numbers follow commit order: the index's cursor over answers.
            foreach (var question in resolved)
                change.Execute("""
                    UPDATE questions SET answer_seq = (SELECT coalesce(max(answer_seq), 0) + 1 FROM questions WHERE answer_seq IS NOT NULL)
                    WHERE id = @Id
                    """, new { question.Id });
            change.AfterPublished(search.Wake);

            var from = command.From ?? command.Answerer;
            var told = resolved
                .Where(q => q.Asker != command.Answerer && q.Asker != AgentNames.Hive && (command.TellRemovedAsker || agents.IsAgent(q.Asker)))
                .Select(q => AnswerMessage(q, from)).ToList();
            if (told.Count > 0) await mediator.Send(new AppendMessages.Command(told), CancellationToken.None);
            var waiting = resolved.Select(q => q.Asker).Distinct()
                .ToDictionary(a => a, a => QuestionsSql.WaitingOf(change.Connection, a, change.Transaction), StringComparer.Ordinal);
            // Counted once per party after the whole step: every event of a batch carries the final numbers.
            var open = resolved.SelectMany(q => q.Target is { } t ? [q.Asker, t] : new[] { q.Asker }).Distinct()
                .ToDictionary(a => a, a => QuestionsSql.OpenOf(change.Connection, a, change.Transaction), StringComparer.Ordinal);
            foreach (var question in resolved)
                change.Raise(new QuestionResolved(question, waiting[question.Asker],
                    new OpenQuestions(open[question.Asker], question.Target is { } target ? open[target] : null)));
            return resolved;
        }
    }

    /// <summary>The asker's message for a resolved question, sent <paramref name="from"/> whoever resolved it.</summary>
    private static AppendMessages.Draft AnswerMessage(QuestionView resolved, string from) =>
        new(from, resolved.Asker, MessageKinds.Answer, resolved.Answer!, new Dictionary<string, object?>
        {
            ["question_id"] = resolved.Id,
            ["question"] = resolved.Question,
            ["answerer"] = resolved.Answerer,
            ["answer_refs"] = resolved.AnswerRefs,
        });
}
