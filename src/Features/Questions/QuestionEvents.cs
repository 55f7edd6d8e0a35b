using Hive.Shared.Agents;
using Hive.Shared.Dashboard;

namespace Hive.Features.Questions;

/// <summary>An agent asked; carries the asker's new waiting state so the swarm row follows without a refetch.</summary>
public sealed record QuestionAdded(QuestionView Question, WaitingState Asker) : IDashboardEvent
{
    public string EventType => "question_added";
    public object Payload => QuestionsPayload.Of(Question, Asker);
}

/// <summary>A question was resolved: answered (by its target, or by the operator as an override), cancelled by the operator, or expired.</summary>
public sealed record QuestionResolved(QuestionView Question, WaitingState Asker) : IDashboardEvent
{
    public string EventType => "question_resolved";
    public object Payload => QuestionsPayload.Of(Question, Asker);
}

internal static class QuestionsPayload
{
    /// <summary>The question's fields, plus the asker's waiting state after the change.</summary>
    public static object Of(QuestionView q, WaitingState asker) => new
    {
        id = q.Id,
        asker = q.Asker,
        target = q.Target,
        question = q.Question,
        question_refs = q.QuestionRefs,
        asked_at = q.AskedAt,
        answer = q.Answer,
        answerer = q.Answerer,
        answer_refs = q.AnswerRefs,
        answered_at = q.AnsweredAt,
        options = q.Options,
        multi = q.Multi,
        expires_at = q.ExpiresAt,
        waiting_on = asker.WaitingOn,
        waiting_since = asker.WaitingSince,
    };
}

internal static class Targets
{
    /// <summary>The name a waiting state or a filter shows for a target: the peer's name, or <c>operator</c>.</summary>
    public static string Display(string? target) => target ?? AgentNames.Operator;
}
