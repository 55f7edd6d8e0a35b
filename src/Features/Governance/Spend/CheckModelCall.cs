using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Governance.Spend;

/// <summary>
/// The gateway's question before it forwards a model call: may <see cref="Query.Agent"/> spend on
/// <see cref="Query.Provider"/> now? Answered from memory. Refused when the hive is halted, the agent paused, the
/// provider's circuit open (or the agent held by its own quota report), or the agent or the hive over a budget (day or
/// month, cost or tokens); the refusal says why in a person's words. A query: a budget refusal asks the budget question
/// (as a held <c>begin_turn</c> does: one per cap and period while it is open) in a change of its own, sent from here.
/// </summary>
public static class CheckModelCall
{
    /// <param name="EstimatedUsd">What the call will probably cost (the agent's last call on this provider): a call that would carry a cost cap past it is refused.</param>
    public sealed record Query(string Agent, string Provider, double EstimatedUsd = 0) : IRequest<Verdict>;

    /// <param name="Refusal">A person's sentence ("hive: alice is over its daily budget ($2.04 of $2.00); the operator has been asked"); null when allowed.</param>
    /// <param name="Reason">What refused it: <c>budget</c>, <c>halted</c>, <c>paused</c> or <c>quota</c>; null when allowed.</param>
    /// <param name="TurnId">The agent's open granted turn, which the call belongs to; null when none is open.</param>
    /// <param name="RetryAt">When the refusal lifts by itself (a circuit's reset), when known.</param>
    public sealed record Verdict(bool Allowed, string? Refusal, string? Reason, long? TurnId, DateTimeOffset? RetryAt = null);

    internal sealed class Handler(GovernanceState state, Admission admission, ModelCallQuestions questions, StateChanges changes,
        IServiceScopeFactory scopes, TimeProvider clock, ILogger<Query> logger) : IRequestHandler<Query, Verdict>
    {
        public async Task<Verdict> Handle(Query query, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            var agent = query.Agent;
            var turn = admission.RunningOf(agent);
            var turnId = turn?.TurnId;
            if (state.Halt is { } halt)
                return Refused($"hive: the hive is halted (by {halt.By}{(halt.Reason is { } r ? $": {r}" : "")}); no model calls until it is resumed",
                    HoldReasons.Halted, null);
            if (state.Paused.FirstOrDefault(p => p.Agent == agent) is { } paused)
                return Refused($"hive: {agent} is paused (by {paused.By}); no model calls until it is resumed", HoldReasons.Paused, null);
            if (state.CircuitOf(query.Provider, now) is { } circuit)
                return Refused($"hive: {query.Provider} is at its usage or rate limit; no model calls until {Stamp(circuit.Until)}",
                    HoldReasons.Quota, circuit.Until);
            if (state.QuotaHoldOf(agent, now) is { } hold && hold.Provider == query.Provider)
                return Refused($"hive: {agent} reported {hold.Provider}'s usage or rate limit; no model calls until {Stamp(hold.Until)}",
                    HoldReasons.Quota, hold.Until);
            foreach (var scope in new[] { agent, Scopes.Hive })
            {
                // "Allow one more turn" lets that turn's calls through the cap it was granted past.
                if (state.Budgets.WouldReachOf(scope, now, query.EstimatedUsd) is not { } reached || state.Budgets.AllowanceOf(scope) > 0
                    || (turn?.Allowances.Contains(scope) ?? false))
                    continue;
                await AskAsync(agent, reached, now);
                var who = scope == Scopes.Hive ? "the hive" : scope;
                var where = reached.Spent >= reached.Cap ? "is over" : "would go over";
                return Refused($"hive: {who} {where} its {Describe(reached.Metric)} ({Metrics.Show(reached.Metric, reached.Spent)} of " +
                               $"{Metrics.Show(reached.Metric, reached.Cap)}); the operator has been asked", HoldReasons.Budget, null);
            }
            return new Verdict(true, null, null, turnId);

            Verdict Refused(string sentence, string reason, DateTimeOffset? retryAt) => new(false, sentence, reason, turnId, retryAt);
        }

        /// <summary>
        /// Asks the budget question (once per cap and period while it is open: <see cref="AskBudgetQuestion"/> looks) in a
        /// change of its own; the same reached cap is looked at again at most every <see cref="ModelCallQuestions.Every"/>, so a
        /// flood of refused calls is not a flood of writes. Best effort, as a held <c>begin_turn</c>'s: a failure is logged.
        /// </summary>
        private async Task AskAsync(string agent, Reached reached, DateTimeOffset now)
        {
            if (!questions.Due(reached, now)) return;
            try
            {
                await changes.RunAsync(scopes, async (_, services) =>
                    await services.GetRequiredService<IMediator>().Send(new AskBudgetQuestion.Command(agent, reached), CancellationToken.None), CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                questions.Forget(reached);
                logger.LogWarning("governance: asking of {Agent}'s refused model call ({Metric}) failed: {Error}", agent, reached.Metric, e.Message);
            }
        }
    }

    internal static string Describe(string metric) => metric switch
    {
        Metrics.DailyUsd => "daily budget",
        Metrics.MonthlyUsd => "monthly budget",
        Metrics.DailyTokens => "daily token budget",
        _ => "monthly token budget",
    };

    private static string Stamp(DateTimeOffset at) => Hive.Contracts.Json.UtcTimestamp.Format(at);
}

/// <summary>When each reached cap was last looked at for a question by a refused model call (in memory: a restart looks again).</summary>
internal sealed class ModelCallQuestions
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(30);

    private readonly Hive.Shared.Limits.OncePer<(string Scope, string Metric, string Period, double Cap)> _looked = new(Every);

    public bool Due(Reached reached, DateTimeOffset now) => _looked.Due(Key(reached), now);

    public void Forget(Reached reached) => _looked.Forget(Key(reached));

    private static (string, string, string, double) Key(Reached reached) => (reached.Scope, reached.Metric, reached.Period, reached.Cap);
}
