using Dapper;
using Hive.Contracts.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Questions;

/// <summary>
/// Questions as the search index sees them: the question (asker to target, <c>operator</c> when it has none), and its
/// answer (answerer to asker) once answered; a cancel or an expiry is no answer worth finding. <see cref="AskQuestion"/>
/// and <see cref="ResolveQuestions"/> add them in their change's transaction. Questions have no retention sweep.
/// </summary>
internal static class QuestionSearch
{
    public const string QuestionKind = "question";
    public const string AnswerKind = "answer";

    public static SearchEntry Asked(QuestionView q) => Asked(q.Id, q.Asker, q.Target, q.Question, q.AskedAt);

    public static SearchEntry? Answered(QuestionView q) => Answered(q.Id, q.Asker, q.Answer, q.Answerer, q.AnsweredAt);

    private static SearchEntry Asked(long id, string asker, string? target, string question, DateTimeOffset at) =>
        new(QuestionKind, id, question, asker, target ?? AgentNames.Operator, at);

    private static SearchEntry? Answered(long id, string asker, string? answer, string? answerer, DateTimeOffset? at) =>
        answer is not null && at is { } answeredAt && answer != ResolveQuestions.Cancelled && answerer != ResolveQuestions.ExpiredBy
            ? new(AnswerKind, id, answer, answerer ?? AgentNames.Operator, asker, answeredAt)
            : null;

    /// <summary>Every stored question and answer, for the index's backfill.</summary>
    internal sealed class Source : ISearchSource
    {
        public IReadOnlyList<string> Kinds => [QuestionKind, AnswerKind];

        public IEnumerable<SearchEntry> ReadAll(SqliteConnection connection, SqliteTransaction transaction)
        {
            foreach (var row in connection.Query<QuestionRow>($"SELECT {QuestionRow.Columns} FROM questions ORDER BY id", transaction: transaction, buffered: false))
            {
                // From the row itself: a view would scan every text for file refs, which the index has no use for.
                yield return Asked(row.Id, row.Asker, row.Target, row.Question, row.AskedAt);
                if (Answered(row.Id, row.Asker, row.Answer, row.Answerer, row.AnsweredAt) is { } answer) yield return answer;
            }
        }
    }
}
