using Hive.Contracts.Containers;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// A spawn beyond an agent's limits, when its <c>may_spawn.ask</c> is <c>parent</c>: the spawn approval is opened as ever,
/// and in the same unit of work the hive asks the agent's own parent (a typed question: approve or deny). Its answer
/// decides the approval in its name; anything but "approve" (an expiry, a cancel) denies it. The operator may still
/// decide the approval first, and then the answer changes nothing.
/// </summary>
internal static class ParentDecidesSpawn
{
    public const string Approve = "approve";
    public const string Deny = "deny";

    /// <summary>Asks <paramref name="decider"/> about <paramref name="approval"/>, in the caller's change.</summary>
    public static async Task AskAsync(StateChange change, IMediator mediator, string decider, ApprovalView approval, string requester, string? purpose,
        CancellationToken ct)
    {
        var question = await mediator.Send(new AskQuestion.Command(AgentNames.Hive, decider,
            $"{requester}, spawned under you, asks to spawn {approval.Agent} beyond its limits" +
            $"{(purpose is null ? "" : $" ({purpose})")}. You decide for it: approve or deny? (approval {approval.Id})",
            [Approve, Deny]), ct);
        change.Execute("INSERT INTO spawn_questions (question_id, approval_id, decider) VALUES (@QuestionId, @ApprovalId, @decider)",
            new { QuestionId = question.Id, ApprovalId = approval.Id, decider });
    }

    /// <summary>The parent's answer applied, once, in one unit of work with the decision.</summary>
    public sealed record Command(long QuestionId, string Answer, string Answerer) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator) : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var asked = change.QuerySingleOrDefault<Asked>("""
                SELECT q.approval_id AS ApprovalId, q.decider AS Decider FROM spawn_questions q
                JOIN approvals a ON a.id = q.approval_id AND a.status = 'pending'
                WHERE q.question_id = @QuestionId
                """, command);
            change.Execute("DELETE FROM spawn_questions WHERE question_id = @QuestionId", command);
            if (asked is null) return Unit.Value; // not a spawn question, or the operator decided first
            var by = command.Answerer == AgentNames.Operator ? AgentNames.Operator : asked.Decider;
            if (command.Answer.Trim().Equals(Approve, StringComparison.OrdinalIgnoreCase))
                await mediator.Send(new ApproveApproval.Decide(asked.ApprovalId, $"{by} approved", by), cancellationToken);
            else
                await mediator.Send(new DenyApproval.Command(asked.ApprovalId, $"{by} answered: {command.Answer}", by), cancellationToken);
            return Unit.Value;
        }
    }

    private sealed record Asked(long ApprovalId, string Decider);

    /// <summary>Every resolved question from <c>hive</c> is looked up: the spawn ones are applied.</summary>
    internal sealed class OnQuestionResolved(IMediator mediator) : INotificationHandler<QuestionResolved>
    {
        public Task Handle(QuestionResolved notification, CancellationToken cancellationToken) =>
            notification.Question is { Asker: AgentNames.Hive, Answer: { } answer } question
                ? mediator.Send(new Command(question.Id, answer, question.Answerer ?? AgentNames.Operator), cancellationToken)
                : Task.CompletedTask;
    }
}
