using System.Text.Json;
using Hive.Shared.Data;
using Hive.Features.StateFiles;
using Hive.Contracts.Json;

namespace Hive.Features.Questions;

/// <summary>
/// A question on the wire; <c>target</c> null means the operator. The answer fields are null until answered.
/// <c>options</c> is advisory (empty when none; free text is always allowed), <c>multi</c> says several may be chosen,
/// <c>expires_at</c> is when an unanswered question resolves as <c>[expired]</c> (null: never).
/// </summary>
public sealed record QuestionView(
    long Id,
    string Asker,
    string? Target,
    string Question,
    IReadOnlyList<string> QuestionRefs,
    DateTimeOffset AskedAt,
    string? Answer,
    string? Answerer,
    IReadOnlyList<string> AnswerRefs,
    DateTimeOffset? AnsweredAt,
    IReadOnlyList<string> Options,
    bool Multi,
    DateTimeOffset? ExpiresAt);

/// <summary>What an agent is blocked on: the target of its oldest open question (null target = the operator).</summary>
public sealed record WaitingState(string Agent, string? WaitingOn, DateTimeOffset? WaitingSince);

/// <summary>A row of <c>questions</c>; <c>options</c> is stored as a JSON array, <c>multi</c> as 0/1 (SQLite has no bool).</summary>
internal sealed record QuestionRow(
    long Id, string Asker, string? Target, string Question, DateTimeOffset AskedAt, string? Answer, string? Answerer, DateTimeOffset? AnsweredAt,
    Json<string[]>? Options, long Multi, DateTimeOffset? ExpiresAt)
{
    public const string Columns = "id, asker, target, question, asked_at, answer, answerer, answered_at, options, multi, expires_at";

    public QuestionView View(IFileRefScanner scanner) =>
        new(Id, Asker, Target, Question, scanner.Scan(Question), AskedAt, Answer, Answerer, scanner.Scan(Answer), AnsweredAt,
            Options?.Value ?? [], Multi != 0, ExpiresAt);
}
