using Hive.Shared.Agents;
using Hive.Shared.Dashboard;

namespace Hive.Features.Questions;

/// <summary>
/// An agent asked; carries the asker's new waiting state and both parties' open questions, so the swarm rows (waiting,
/// loose ends) follow without a refetch.
/// </summary>
public sealed record QuestionAdded(QuestionView Question, WaitingState Asker, OpenQuestions Open) : IDashboardEvent
{
    public string EventType => "question_added";
    public object Payload => QuestionsPayload.Of(Question, Asker, Open);
}

/// <summary>A question was resolved: answered (by its target, or by the operator as an override), cancelled by the operator, or expired.</summary>
public sealed record QuestionResolved(QuestionView Question, WaitingState Asker, OpenQuestions Open) : IDashboardEvent
{
    public string EventType => "question_resolved";
    public object Payload => QuestionsPayload.Of(Question, Asker, Open);
}

/// <summary>Open questions (asked by it, or waiting for its answer) of a question's asker and of its target (null: the operator).</summary>
public sealed record OpenQuestions(long Asker, long? Target);

internal static class QuestionsPayload
{
    /// <summary>The question's fields, plus the asker's waiting state after the change.</summary>
    public static object Of(QuestionView q, WaitingState asker, OpenQuestions open) => new
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
        asker_open_questions = open.Asker,
        target_open_questions = open.Target,
    };
}

internal static class Targets
{
    /// <summary>The name a waiting state or a filter shows for a target: the peer's name, or <c>operator</c>.</summary>
    public static string Display(string? target) => target ?? AgentNames.Operator;
}
