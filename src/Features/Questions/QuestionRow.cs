using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Contracts.Questions;
using Hive.Features.StateFiles;
using Hive.Shared.Data;

namespace Hive.Features.Questions;

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
