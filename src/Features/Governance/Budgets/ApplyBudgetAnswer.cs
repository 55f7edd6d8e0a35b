using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The operator answered a budget question: a "raise" raises that cap for its period, "allow one more turn" lets one turn
/// through the reached cap, anything else (or a cancel, an expiry) keeps it paused and asks no more this period. Applied
/// once, audited, and the queue is pumped so a held turn is granted at once.
/// </summary>
internal static class ApplyBudgetAnswer
{
    public sealed record Command(long QuestionId, string Answer, string Answerer) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, TimeProvider clock) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var asked = change.QuerySingleOrDefault<Asked>(
                "SELECT scope, metric, period, raise_to FROM budget_questions WHERE question_id = @QuestionId AND state = 'open'", command);
            if (asked is null) return Unit.Task;

            string applied;
            if (AskBudgetQuestion.IsRaise(command.Answer))
            {
                change.Execute("""
                    INSERT INTO budget_raises (scope, metric, period, cap) VALUES (@Scope, @Metric, @Period, @RaiseTo)
                    ON CONFLICT (scope, metric, period) DO UPDATE SET cap = excluded.cap
                    """, asked);
                var earlier = state.Budgets.RaiseOf(asked.Scope, asked.Metric, asked.Period);
                state.Budgets.Raise(asked.Scope, asked.Metric, asked.Period, asked.RaiseTo);
                change.OnRolledBack(() =>
                {
                    if (earlier is { } cap) state.Budgets.Raise(asked.Scope, asked.Metric, asked.Period, cap);
                    else state.Budgets.Unraise(asked.Scope, asked.Metric, asked.Period);
                });
                change.Raise(new BudgetChanged(asked.Scope, command.Answerer));
                applied = $"raised {asked.Metric} to {AskBudgetQuestion.Format(asked.RaiseTo)} for {asked.Period}";
            }
            else if (command.Answer.Trim().Equals(AskBudgetQuestion.AllowOneMore, StringComparison.OrdinalIgnoreCase))
            {
                var before = state.Budgets.AllowanceOf(asked.Scope);
                change.Execute("""
                    INSERT INTO budget_allowances (scope, turns) VALUES (@Scope, 1) ON CONFLICT (scope) DO UPDATE SET turns = turns + 1
                    """, asked);
                state.Budgets.Allow(asked.Scope, before + 1);
                change.OnRolledBack(() => state.Budgets.Allow(asked.Scope, before));
                applied = "allowed one more turn";
            }
            else applied = "kept paused";

            change.Execute("UPDATE budget_questions SET state = @state WHERE question_id = @QuestionId",
                new { command.QuestionId, state = applied == "kept paused" ? "kept" : "applied" });
            // The answerer of a question to the operator is the operator: the guardian.
            Interventions.Record(change, clock.GetUtcNow(), command.Answerer == AgentNames.Operator ? Actor.Operator : Actor.Agent(command.Answerer),
                InterventionActions.BudgetAnswer, asked.Scope, command.Answer, new { question_id = command.QuestionId }, new { applied });
            change.AfterPublished(admission.Pump);
            return Unit.Task;
        }
    }

    private sealed record Asked(string Scope, string Metric, string Period, double RaiseTo);

    /// <summary>Every resolved question from <c>hive</c> is looked up: the budget ones are applied.</summary>
    internal sealed class OnQuestionResolved(IMediator mediator) : INotificationHandler<QuestionResolved>
    {
        public Task Handle(QuestionResolved notification, CancellationToken cancellationToken) =>
            notification.Question is { Asker: AgentNames.Hive, Answer: { } answer } question
                ? mediator.Send(new Command(question.Id, answer, question.Answerer ?? AgentNames.Operator), cancellationToken)
                : Task.CompletedTask;
    }
}
