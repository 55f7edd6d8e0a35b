using System.Globalization;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Turns;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// <c>record_turn</c>'s part in Governance, inside its change. An agent's word never holds another agent: a record names
/// the turn granted to this agent and not yet ended, and starts inside it, or it is refused whole. One exception: a turn
/// the host told to stop and then ended itself when the grace ran out is still taken once, late (a harness that stopped
/// its command on time may record it just after), so that what it spent counts and its row is not lost. A turn whose model
/// calls went through the gateway was counted call by call (<see cref="Spend.ChargeModelCall"/>): it is accounted by its
/// meter, not again, and a report that disagrees with the meter is audited. A turn without metered calls is charged what
/// its agent reports (bounded per turn), to the agent, and reaches the hive's books only as far as the agent's own caps
/// allow. A cap crossed tells the operator once per period (its warning share, then the cap: the next turn is held).
/// </summary>
internal sealed class TurnLedger(StateChanges changes, IMediator mediator, Admission admission, Spending spending, GovernanceState state, IAuditLog audit,
    IOptions<GovernanceOptions> options, TimeProvider clock) : ITurnLedger
{
    /// <summary>How far a reported start may precede the grant (or pass the host's now): clocks of one machine, rounding.</summary>
    public static readonly TimeSpan StartSlack = TimeSpan.FromSeconds(5);

    /// <summary>A report off the meter by more than this share (and more than <see cref="DisagreeUsd"/>) is audited.</summary>
    public const double DisagreeShare = 0.05;
    public const double DisagreeUsd = 0.001;

    public async Task<TurnAccount> RecordAsync(TurnReport report, CancellationToken cancellationToken)
    {
        var change = changes.Current;
        var now = clock.GetUtcNow();
        if (report.TurnId is not { } turnId)
            throw new BadRequestException("record_turn needs turn_id: a turn is recorded only as the turn begin_turn granted to this agent");
        var turn = change.QuerySingleOrDefault<GrantedRow>("""
            SELECT agent, granted_at, ended_at, end_reason, recorded_at, metered_calls, metered_input_tokens, metered_output_tokens,
                metered_cache_read_tokens, metered_cache_write_tokens, metered_cost_usd
            FROM governed_turns WHERE id = @turnId
            """, new { turnId });
        if (turn is null || turn.Agent != report.Agent) throw new NotFoundException($"no turn {turnId} was granted to {report.Agent}");
        if (turn.RecordedAt is not null) throw new ConflictException($"turn {turnId} was recorded already: a turn is recorded once");
        if (turn.EndedAt is not null && !TurnEndReasons.GivesMessagesBack(turn.EndReason!))
            throw new ConflictException($"turn {turnId} has ended already ({turn.EndReason}): it cannot be recorded now");
        if (report.StartedAt is { } started)
        {
            if (started < turn.GrantedAt - StartSlack)
                throw new BadRequestException($"started_at {Stamp(started)} is before turn {turnId} was granted ({Stamp(turn.GrantedAt)}): a turn starts inside its grant");
            if (started > now + StartSlack)
                throw new BadRequestException($"started_at {Stamp(started)} is in the future");
        }

        TurnAccount account;
        if (turn.MeteredCalls > 0)
        {
            // Its calls were counted as they were made: the meter is the turn's account, the report only a comparison.
            account = new TurnAccount(turn.MeteredCostUsd, Pricing.Metered, turn.MeteredInputTokens, turn.MeteredOutputTokens,
                turn.MeteredCacheReadTokens, turn.MeteredCacheWriteTokens, report.CostUsd);
            if (report.CostUsd is { } reported && Math.Abs(reported - turn.MeteredCostUsd) is var off
                && off > DisagreeUsd && off > DisagreeShare * turn.MeteredCostUsd)
                Audit(change, now, report.Agent, "record_turn: reported cost disagrees with the meter", turnId,
                    $"reported {Usd(reported)}, metered {Usd(turn.MeteredCostUsd)} over {turn.MeteredCalls} call(s): charged the metered figure");
        }
        else account = await ChargeReportAsync(change, report, turnId, now);

        var tokens = account.InputTokens + account.OutputTokens + account.CacheReadTokens + account.CacheCreationTokens;
        // The claim is the once-only rule: of two records racing for one turn, one finds it taken.
        if (change.Execute("""
                UPDATE governed_turns SET recorded_at = @now, cost_usd = @CostUsd, tokens = @tokens WHERE id = @turnId AND recorded_at IS NULL
                """, new { now, account.CostUsd, tokens, turnId }) == 0)
            throw new ConflictException($"turn {turnId} was recorded already: a turn is recorded once");
        // A turn told to stop ends for that reason even when its harness records it: its messages go back in line.
        if (turn.EndedAt is null)
            await mediator.Send(new EndTurn.Command(turnId, admission.Find(turnId)?.Stop?.Reason ?? TurnEndReasons.Recorded, account.CostUsd, tokens),
                CancellationToken.None);
        change.AfterPublished(admission.Pump);
        return account;
    }

    /// <summary>
    /// A turn without metered calls: what its agent says it cost (or its tokens at the configured price). Above the per-turn
    /// bound it is charged at the bound to the agent only, and audited. Otherwise the agent is charged all of it, and the
    /// hive only as much as the agent's own caps still had room for (all of it when the agent has no cap of that kind): an
    /// agent's claim can use up its own budget, never more of the hive's than its own would allow.
    /// </summary>
    private async Task<TurnAccount> ChargeReportAsync(StateChange change, TurnReport report, long turnId, DateTimeOffset now)
    {
        var (usd, source) = Pricing.CostOf(report, options.Value.Prices);
        var tokens = report.Tokens;
        double? hiveUsd;
        long hiveTokens;
        var maxUsd = options.Value.MaxReportedTurnUsd;
        var maxTokens = options.Value.MaxReportedTurnTokens;
        if (usd > maxUsd || tokens > maxTokens)
        {
            Audit(change, now, report.Agent, "record_turn: report over the per-turn bound", turnId,
                $"reported {(usd is { } u ? Usd(u) : "no cost")} and {tokens} tokens; charged at most {Usd(maxUsd)} and {maxTokens} tokens, to {report.Agent} only");
            usd = usd is { } claimed ? Math.Min(claimed, maxUsd) : null;
            tokens = Math.Min(tokens, maxTokens);
            hiveUsd = usd is null ? null : 0;
            hiveTokens = 0;
        }
        else
        {
            var usdRoom = spendingRoom(usd: true);
            var tokenRoom = spendingRoom(usd: false);
            hiveUsd = usd is { } cost ? Math.Min(cost, usdRoom ?? cost) : null;
            hiveTokens = (long)Math.Min(tokens, tokenRoom ?? tokens);
        }
        await spending.CountAsync(change, report.Agent, now, usd, source, tokens, turnId, hiveUsd, hiveTokens);
        return new TurnAccount(usd, source, report.InputTokens, report.OutputTokens, report.CacheReadTokens, report.CacheCreationTokens, report.CostUsd);

        double? spendingRoom(bool usd) => state.Budgets.RoomOf(report.Agent, usd, now);
    }

    private void Audit(StateChange change, DateTimeOffset now, string agent, string action, long turnId, string result) =>
        change.AfterPublished(() => audit.Record(new AuditEntry(now, agent, action, $"turn {turnId}", result)));

    private static string Usd(double amount) => "$" + amount.ToString("0.00####", CultureInfo.InvariantCulture);

    private static string Stamp(DateTimeOffset at) => Hive.Contracts.Json.UtcTimestamp.Format(at);

    private sealed record GrantedRow(string Agent, DateTimeOffset GrantedAt, DateTimeOffset? EndedAt, string? EndReason, DateTimeOffset? RecordedAt, long MeteredCalls,
        long MeteredInputTokens, long MeteredOutputTokens, long MeteredCacheReadTokens, long MeteredCacheWriteTokens, double MeteredCostUsd);

    internal static string Describe(string metric) => metric switch
    {
        Metrics.DailyUsd => "daily spend",
        Metrics.MonthlyUsd => "monthly spend",
        Metrics.DailyTokens => "daily tokens",
        _ => "monthly tokens",
    };
}
