using Dapper;
using Hive.Shared.Data;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// Governance's durable state in memory: the halt, the paused agents, the providers' quota circuits and the budgets.
/// Loaded from its tables on first use, read only (the agents' sockets may open before any hosted service has started,
/// and no turn may be granted before a halt is known; the first use may come inside another change, which holds the
/// write lock), then changed by the use cases inside their changes (undone if one rolls back).
/// </summary>
internal sealed class GovernanceState(IDb db, IOptions<GovernanceOptions> options, TimeProvider clock)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, PausedAgent> _paused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QuotaCircuit> _circuits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AgentQuotaHold> _holds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _cleared = new(StringComparer.Ordinal);
    private HaltRecord? _halt;
    private BudgetBook? _budgets;
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public sealed record HaltRecord(string By, DateTimeOffset Since, string? Reason);
    public sealed record PausedAgent(string Agent, string By, DateTimeOffset Since);
    public sealed record QuotaCircuit(string Provider, DateTimeOffset Until, DateTimeOffset Since, string Source);

    /// <summary>An agent's own <c>quota_hit</c>: that agent is held until <see cref="Until"/>; its provider's others are not.</summary>
    public sealed record AgentQuotaHold(string Agent, string Provider, DateTimeOffset Until, DateTimeOffset Since);

    /// <summary>When this host began governing: turns granted before it died with the previous host.</summary>
    public DateTimeOffset BootedAt { get; } = clock.GetUtcNow();

    public BudgetBook Budgets { get { Load(); return _budgets!; } }

    public HaltRecord? Halt { get { Load(); lock (_lock) return _halt; } }

    public IReadOnlyList<PausedAgent> Paused { get { Load(); lock (_lock) return [.. _paused.Values.OrderBy(p => p.Since)]; } }

    public IReadOnlyList<QuotaCircuit> Circuits { get { Load(); lock (_lock) return [.. _circuits.Values.OrderBy(c => c.Provider, StringComparer.Ordinal)]; } }

    /// <summary>Halted, or this agent paused: no turn, no message handed out, no restart by policy.</summary>
    public string? WorkHeldFor(string agent)
    {
        Load();
        lock (_lock) return _halt is not null ? HoldReasons.Halted : _paused.ContainsKey(agent) ? HoldReasons.Paused : null;
    }

    /// <summary>The open circuit of <paramref name="provider"/> at <paramref name="now"/>, if any.</summary>
    public QuotaCircuit? CircuitOf(string provider, DateTimeOffset now)
    {
        Load();
        lock (_lock) return _circuits.TryGetValue(provider, out var circuit) && circuit.Until > now ? circuit : null;
    }

    /// <summary>The agents held by their own quota reports at <paramref name="now"/>.</summary>
    public IReadOnlyList<AgentQuotaHold> QuotaHolds(DateTimeOffset now)
    {
        Load();
        lock (_lock) return [.. _holds.Values.Where(h => h.Until > now).OrderBy(h => h.Agent, StringComparer.Ordinal)];
    }

    /// <summary>The hold <paramref name="agent"/>'s own quota report put on it, while it lasts.</summary>
    public AgentQuotaHold? QuotaHoldOf(string agent, DateTimeOffset now)
    {
        Load();
        lock (_lock) return _holds.TryGetValue(agent, out var hold) && hold.Until > now ? hold : null;
    }

    /// <summary>The holds whose <c>until</c> has come by <paramref name="now"/>: what the clock lifts.</summary>
    public IReadOnlyList<AgentQuotaHold> EndedQuotaHolds(DateTimeOffset now)
    {
        Load();
        lock (_lock) return [.. _holds.Values.Where(h => h.Until <= now)];
    }

    public AgentQuotaHold? RawQuotaHoldOf(string agent) { Load(); lock (_lock) return _holds.GetValueOrDefault(agent); }

    public void SetQuotaHold(AgentQuotaHold hold) { lock (_lock) _holds[hold.Agent] = hold; }

    public void ClearQuotaHold(string agent) { lock (_lock) _holds.Remove(agent); }

    /// <summary>Until when agents' reports cannot re-open <paramref name="provider"/>'s circuit (the operator cleared it), if ever.</summary>
    public DateTimeOffset? ClearedUntil(string provider) { Load(); lock (_lock) return _cleared.TryGetValue(provider, out var until) ? until : null; }

    public void SetCleared(string provider, DateTimeOffset? until)
    {
        lock (_lock)
        {
            if (until is { } at) _cleared[provider] = at;
            else _cleared.Remove(provider);
        }
    }

    public bool IsPaused(string agent) { Load(); lock (_lock) return _paused.ContainsKey(agent); }

    public void SetHalt(HaltRecord? halt) { lock (_lock) _halt = halt; }

    public void SetPaused(PausedAgent paused) { lock (_lock) _paused[paused.Agent] = paused; }

    public void ClearPaused(string agent) { lock (_lock) _paused.Remove(agent); }

    public void SetCircuit(QuotaCircuit circuit) { lock (_lock) _circuits[circuit.Provider] = circuit; }

    public void ClearCircuit(string provider) { lock (_lock) _circuits.Remove(provider); }

    /// <summary>Completes at the next release (a resume of the hive or of an agent): what a held <c>recv</c> waits on.</summary>
    public Task NextRelease { get { lock (_lock) return _released.Task; } }

    /// <summary>Wakes whatever waits for a hold to lift (after the resume's commit: it then looks again).</summary>
    public void Release()
    {
        TaskCompletionSource released;
        lock (_lock)
        {
            released = _released;
            _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        released.TrySetResult();
    }

    private void Load()
    {
        if (Volatile.Read(ref _budgets) is not null) return;
        lock (_lock)
        {
            if (_budgets is not null) return;
            var now = clock.GetUtcNow();
            var book = new BudgetBook(options.Value.Budgets);
            using var connection = db.Open();
            using var transaction = connection.BeginTransaction(deferred: true);
            _halt = connection.QuerySingleOrDefault<HaltRecord>("SELECT halted_by AS By, halted_at AS Since, reason FROM hive_halt", transaction: transaction);
            foreach (var p in connection.Query<PausedAgent>("SELECT agent, paused_by AS By, paused_at AS Since FROM paused_agents", transaction: transaction))
                _paused[p.Agent] = p;
            foreach (var c in connection.Query<QuotaCircuit>(
                         "SELECT provider, until, opened_at AS Since, opened_by AS Source FROM quota_circuits", transaction: transaction))
                _circuits[c.Provider] = c;
            foreach (var b in connection.Query<(string Scope, double? DailyUsd, double? MonthlyUsd, long? DailyTokens, long? MonthlyTokens)>(
                         "SELECT scope, daily_usd, monthly_usd, daily_tokens, monthly_tokens FROM budgets", transaction: transaction))
                book.Set(b.Scope, new Caps(b.DailyUsd, b.MonthlyUsd, b.DailyTokens, b.MonthlyTokens));
            foreach (var r in connection.Query<(string Scope, string Metric, string Period, double Cap)>(
                         "SELECT scope, metric, period, cap FROM budget_raises", transaction: transaction))
                book.Raise(r.Scope, r.Metric, r.Period, r.Cap);
            foreach (var a in connection.Query<(string Scope, long Turns)>("SELECT scope, turns FROM budget_allowances", transaction: transaction))
                book.Allow(a.Scope, a.Turns);
            var monthStart = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);
            foreach (var s in connection.Query<(string Agent, DateTimeOffset At, double? CostUsd, long Tokens, double? HiveCostUsd, long? HiveTokens)>(
                         "SELECT agent, at, cost_usd, tokens, hive_cost_usd, hive_tokens FROM spend WHERE at >= @monthStart", new { monthStart }, transaction))
                book.AddSpend(s.Agent, s.At, s.CostUsd, s.Tokens, hiveUsd: s.HiveCostUsd, hiveTokens: s.HiveTokens);
            foreach (var h in connection.Query<AgentQuotaHold>(
                         "SELECT agent, provider, until, since FROM agent_quota_holds", transaction: transaction))
                _holds[h.Agent] = h;
            foreach (var c in connection.Query<(string Provider, DateTimeOffset Until)>("SELECT provider, until FROM quota_circuit_clears", transaction: transaction))
                _cleared[c.Provider] = c.Until;
            transaction.Commit();
            Volatile.Write(ref _budgets, book);
        }
    }
}

/// <summary>Why a turn is not granted now, most binding first.</summary>
public static class HoldReasons
{
    public const string Halted = "halted";
    public const string Paused = "paused";
    public const string Quota = "quota";
    public const string Budget = "budget";
    public const string Queued = "queued";
}
