using Hive.Features.StateFiles;

namespace Hive.Features.Questions;

/// <summary>A question on the wire; <c>target</c> null means the operator. The answer fields are null until answered.</summary>
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
    DateTimeOffset? AnsweredAt);

/// <summary>What an agent is blocked on: the target of its oldest open question (null target = the operator).</summary>
public sealed record WaitingState(string Agent, string? WaitingOn, DateTimeOffset? WaitingSince);

internal sealed record QuestionRow(
    long Id, string Asker, string? Target, string Question, DateTimeOffset AskedAt, string? Answer, string? Answerer, DateTimeOffset? AnsweredAt)
{
    public const string Columns = "id, asker, target, question, asked_at, answer, answerer, answered_at";

    public QuestionView View(IFileRefScanner scanner) =>
        new(Id, Asker, Target, Question, scanner.Scan(Question), AskedAt, Answer, Answerer, scanner.Scan(Answer), AnsweredAt);
}
