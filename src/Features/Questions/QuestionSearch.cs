using Dapper;
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

    public static SearchEntry Asked(QuestionView q) => new(QuestionKind, q.Id, q.Question, q.Asker, q.Target ?? AgentNames.Operator, q.AskedAt);

    public static SearchEntry? Answered(QuestionView q) =>
        q is { Answer: { } answer, AnsweredAt: { } at } && answer != ResolveQuestions.Cancelled && q.Answerer != ResolveQuestions.ExpiredBy
            ? new(AnswerKind, q.Id, answer, q.Answerer ?? AgentNames.Operator, q.Asker, at)
            : null;

    /// <summary>Every stored question and answer, for the index's backfill.</summary>
    internal sealed class Source(Hive.Features.StateFiles.IFileRefScanner fileRefs) : ISearchSource
    {
        public IReadOnlyList<string> Kinds => [QuestionKind, AnswerKind];

        public IEnumerable<SearchEntry> ReadAll(SqliteConnection connection, SqliteTransaction transaction)
        {
            foreach (var row in connection.Query<QuestionRow>($"SELECT {QuestionRow.Columns} FROM questions ORDER BY id", transaction: transaction, buffered: false))
            {
                var view = row.View(fileRefs);
                yield return Asked(view);
                if (Answered(view) is { } answer) yield return answer;
            }
        }
    }
}
