using System.Data;
using Dapper;
using Hive.Contracts.Questions;

namespace Hive.Features.Questions;

/// <summary>SQL used by more than one question slice.</summary>
internal static class QuestionsSql
{
    /// <summary>The asker's oldest open question decides what it waits on.</summary>
    public static WaitingState WaitingOf(IDbConnection connection, string agent, IDbTransaction? transaction = null)
    {
        var oldest = connection.Query<(string? Target, DateTimeOffset AskedAt)>(
            "SELECT target, asked_at FROM questions WHERE asker = @agent AND answered_at IS NULL ORDER BY id LIMIT 1",
            new { agent }, transaction).ToList();
        return oldest.Count == 0
            ? new WaitingState(agent, null, null)
            : new WaitingState(agent, Targets.Display(oldest[0].Target), oldest[0].AskedAt);
    }

    /// <summary>An agent's open questions, asked by it or waiting for its answer: its questions' part of its loose ends.</summary>
    public static long OpenOf(IDbConnection connection, string agent, IDbTransaction? transaction = null) =>
        connection.ExecuteScalar<long>(
            "SELECT (SELECT count(*) FROM questions WHERE asker = @agent AND answered_at IS NULL) + (SELECT count(*) FROM questions WHERE target = @agent AND answered_at IS NULL)",
            new { agent }, transaction);

    /// <summary>The asker's and the target's open questions after a change (the target's null when it is the operator).</summary>
    public static OpenQuestions OpenAfter(IDbConnection connection, QuestionView question, IDbTransaction? transaction = null) =>
        new(OpenOf(connection, question.Asker, transaction), question.Target is { } target ? OpenOf(connection, target, transaction) : null);
}
