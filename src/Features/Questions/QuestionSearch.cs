using Dapper;
using Hive.Shared.Agents;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Questions;

/// <summary>
/// Questions as the search index sees them: the question (asker to target, <c>operator</c> when it has none) at its id,
/// and its answer (answerer to asker) at its <c>answer_seq</c> once answered; a cancel or an expiry is no answer worth
/// finding. <see cref="AskQuestion"/> and <see cref="ResolveQuestions"/> wake the index after their change. Questions
/// have no retention sweep.
/// </summary>
internal static class QuestionSearch
{
    public const string QuestionKind = "question";
    public const string AnswerKind = "answer";

    private static SearchEntry Asked(Indexed q) => new(QuestionKind, q.Id, q.Question, q.Asker, q.Target ?? AgentNames.Operator, q.AskedAt);

    private static SearchEntry? Answered(Indexed q) =>
        q.Answer is { } answer && q.AnsweredAt is { } at && answer != ResolveQuestions.Cancelled && q.Answerer != ResolveQuestions.ExpiredBy
            ? new(AnswerKind, q.Id, answer, q.Answerer ?? AgentNames.Operator, q.Asker, at)
            : null;

    /// <summary>The rows the indexer reads, oldest first: questions by id, answers by their number.</summary>
    internal sealed class Source : ISearchSource
    {
        public IReadOnlyList<string> Kinds => [QuestionKind, AnswerKind];

        public IReadOnlyList<SearchRow> ReadAfter(SqliteConnection connection, SqliteTransaction transaction, string kind, long after, int limit)
        {
            var position = PositionOf(kind);
            return connection.Query<Indexed>($"""
                    SELECT id, asker, target, question, asked_at AS AskedAt, answer, answerer, answered_at AS AnsweredAt, {position} AS Position
                    FROM questions WHERE {position} > @after ORDER BY {position} LIMIT @limit
                    """, new { after, limit }, transaction)
                .Select(q => new SearchRow(q.Position, kind == QuestionKind ? Asked(q) : Answered(q))).ToList();
        }

        public long LastPosition(SqliteConnection connection, SqliteTransaction transaction, string kind) =>
            connection.ExecuteScalar<long>($"SELECT coalesce(max({PositionOf(kind)}), 0) FROM questions", transaction: transaction);

        public SearchBacklog Backlog(SqliteConnection connection, SqliteTransaction transaction, string kind, long after)
        {
            var (position, at) = kind == QuestionKind ? ("id", "asked_at") : ("answer_seq", "answered_at");
            return connection.QuerySingle<SearchBacklog>($"""
                SELECT count(*) AS Count, (SELECT {at} FROM questions WHERE {position} > @after ORDER BY {position} LIMIT 1) AS Oldest
                FROM questions WHERE {position} > @after
                """, new { after }, transaction);
        }

        private static string PositionOf(string kind) => kind == QuestionKind ? "id" : "answer_seq";
    }

    private sealed record Indexed(
        long Id, string Asker, string? Target, string Question, DateTimeOffset AskedAt, string? Answer, string? Answerer, DateTimeOffset? AnsweredAt, long Position);
}
