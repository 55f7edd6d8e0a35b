using Hive.Contracts.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;

namespace Hive.Features.Questions;

/// <summary>
/// An agent asked; carries the asker's new waiting state and both parties' open questions, so the swarm rows (waiting,
/// loose ends) follow without a refetch.
/// </summary>
public sealed record QuestionAdded(QuestionView Question, WaitingState Asker, OpenQuestions Open) : IDashboardEvent<QuestionChangedPayload>
{
    public string EventType => "question_added";
    public QuestionChangedPayload Payload => new(Question, Asker, Open);
}

/// <summary>A question was resolved: answered (by its target, or by the operator as an override), cancelled by the operator, or expired.</summary>
public sealed record QuestionResolved(QuestionView Question, WaitingState Asker, OpenQuestions Open) : IDashboardEvent<QuestionChangedPayload>
{
    public string EventType => "question_resolved";
    public QuestionChangedPayload Payload => new(Question, Asker, Open);
}

internal static class Targets
{
    /// <summary>The name a waiting state or a filter shows for a target: the peer's name, or <c>operator</c>.</summary>
    public static string Display(string? target) => target ?? AgentNames.Operator;
}
