namespace Hive.Contracts.Questions;

/// <summary>
/// A question on the wire; <c>target</c> null means the operator. The answer fields are null until answered.
/// <c>options</c> is advisory (empty when none; free text is always allowed), <c>multi</c> says several may be chosen,
/// <c>expires_at</c> is when an unanswered question resolves as <c>[expired]</c> (null: never).
/// Not sealed: <see cref="QuestionChangedPayload"/> is a question plus what its events add.
/// </summary>
public record QuestionView(
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

/// <summary>Open questions (asked by it, or waiting for its answer) of a question's asker and of its target (null: the operator).</summary>
public sealed record OpenQuestions(long Asker, long? Target);
