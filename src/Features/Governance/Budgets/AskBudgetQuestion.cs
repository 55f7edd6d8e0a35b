using System.Globalization;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// An agent's turn is held by a reached cap: the operator gets one question from <c>hive</c> for that cap and period
/// (none while one is open, none after "keep paused" until the period turns), with the choices an answer applies
/// (<see cref="ApplyBudgetAnswer"/>): raise the cap for this period, allow one more turn, or keep it paused.
/// </summary>
internal static class AskBudgetQuestion
{
    public const string AllowOneMore = "allow one more turn";
    public const string KeepPaused = "keep paused";

    /// <param name="Reached">The cap to ask about when the caller knows it (a model call it would cross); else the one holding the agent's turns.</param>
    public sealed record Command(string Agent, Reached? Reached = null) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, GovernanceState state, TimeProvider clock) : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            if ((command.Reached ?? state.Budgets.HoldOf(command.Agent, clock.GetUtcNow())) is not { } reached) return Unit.Value;
            var asked = change.QuerySingle<long>("""
                SELECT count(*) FROM budget_questions WHERE scope = @Scope AND metric = @Metric AND period = @Period AND state IN ('open', 'kept')
                """, reached);
            if (asked > 0) return Unit.Value;

            var raiseTo = SuggestedRaise(reached);
            var who = reached.Scope == Scopes.Hive ? "The hive" : reached.Scope;
            var when = Metrics.IsDaily(reached.Metric) ? "today" : "this month";
            var question = await mediator.Send(new AskQuestion.Command(AgentNames.Hive, null,
                (reached.Spent >= reached.Cap
                    ? $"{who} has reached its {TurnLedger.Describe(reached.Metric)} cap ({Metrics.Show(reached.Metric, reached.Spent)} of " +
                      $"{Metrics.Show(reached.Metric, reached.Cap)} {when}); its turns are held. What now?"
                    : $"{who}'s next model call would go over its {TurnLedger.Describe(reached.Metric)} cap ({Metrics.Show(reached.Metric, reached.Spent)} of " +
                      $"{Metrics.Show(reached.Metric, reached.Cap)} {when} spent); its calls are refused. What now?"),
                [$"raise to {Metrics.Show(reached.Metric, raiseTo)} for {when}", AllowOneMore, KeepPaused]), cancellationToken);
            change.Execute("""
                INSERT INTO budget_questions (question_id, scope, metric, period, raise_to, state, asked_at)
                VALUES (@id, @Scope, @Metric, @Period, @raiseTo, 'open', @at)
                """, new { id = question.Id, reached.Scope, reached.Metric, reached.Period, raiseTo, at = clock.GetUtcNow() });
            change.Raise(new BudgetQuestionAsked(question.Id, reached.Scope));
            return Unit.Value;
        }

        /// <summary>
        /// Twice the cap, or what was spent plus the cap (or half of it, or a cent or a token, whichever is most) when that is
        /// more: always above what was spent, so the raise lets a turn through. Whole cents or tokens.
        /// </summary>
        private static double SuggestedRaise(Reached reached)
        {
            var unit = Metrics.IsUsd(reached.Metric) ? 0.01 : 1;
            var raise = Math.Max(reached.Cap * 2, reached.Spent + Math.Max(Math.Max(reached.Cap, reached.Spent / 2), unit));
            return Metrics.IsUsd(reached.Metric) ? Math.Ceiling(raise * 100) / 100 : Math.Ceiling(raise);
        }
    }

    /// <summary>The raise an answer names (<c>raise to $0.10 for today</c>), parsed back; null when it names none.</summary>
    internal static bool IsRaise(string answer) => answer.TrimStart().StartsWith("raise", StringComparison.OrdinalIgnoreCase);

    internal static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
