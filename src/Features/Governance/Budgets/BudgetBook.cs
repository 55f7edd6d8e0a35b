namespace Hive.Features.Governance;

/// <summary>
/// The budgets in memory, mirroring their tables (loaded once, changed by the use cases as they commit): caps set at run
/// time over the configured ones, one-period raises, allowances, and what each agent spent per UTC day this month and
/// last. Every check a turn request makes is answered from here, without a query.
/// </summary>
internal sealed class BudgetBook(BudgetOptions configured)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Caps> _set = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Scope, string Metric, string Period), double> _raises = new();
    private readonly Dictionary<string, long> _allowances = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Agent, string Day), Entry> _spent = new();

    /// <summary>What was spent: cost where known, tokens always, and how many turns had no known cost.</summary>
    public sealed record Spent(double Usd, long Tokens, long UnpricedTurns)
    {
        public static readonly Spent Zero = new(0, 0, 0);
        public Spent Plus(Spent other) => new(Usd + other.Usd, Tokens + other.Tokens, UnpricedTurns + other.UnpricedTurns);
    }

    /// <summary>An agent's spend of one day: its own, and the part of it that reached the hive's books (a self-reported cost may not, whole).</summary>
    private sealed record Entry(Spent Own, Spent Hive)
    {
        public static readonly Entry Zero = new(Spent.Zero, Spent.Zero);
    }

    public void Set(string scope, Caps caps) { lock (_lock) _set[scope] = caps; }
    public void Unset(string scope) { lock (_lock) _set.Remove(scope); }
    public void Raise(string scope, string metric, string period, double cap) { lock (_lock) _raises[(scope, metric, period)] = cap; }
    public void Unraise(string scope, string metric, string period) { lock (_lock) _raises.Remove((scope, metric, period)); }
    public double? RaiseOf(string scope, string metric, string period) { lock (_lock) return _raises.TryGetValue((scope, metric, period), out var cap) ? cap : null; }

    public void Allow(string scope, long turns)
    {
        lock (_lock)
        {
            if (turns > 0) _allowances[scope] = turns;
            else _allowances.Remove(scope);
        }
    }

    public long AllowanceOf(string scope) { lock (_lock) return _allowances.GetValueOrDefault(scope); }

    /// <summary>
    /// Counts spend of <paramref name="agent"/> (<paramref name="sign"/> -1 takes it back: its change rolled back); of it,
    /// <paramref name="hiveUsd"/> and <paramref name="hiveTokens"/> reach the hive's books (null: all of it).
    /// </summary>
    public void AddSpend(string agent, DateTimeOffset at, double? usd, long tokens, int sign = 1, double? hiveUsd = null, long? hiveTokens = null)
    {
        lock (_lock)
        {
            var key = (agent, Metrics.Day(at));
            var unpriced = usd is null ? sign : 0;
            var entry = _spent.GetValueOrDefault(key, Entry.Zero);
            _spent[key] = new Entry(entry.Own.Plus(new Spent(sign * (usd ?? 0), sign * tokens, unpriced)),
                entry.Hive.Plus(new Spent(sign * (hiveUsd ?? usd ?? 0), sign * (hiveTokens ?? tokens), unpriced)));
        }
    }

    /// <summary>The caps in force for <paramref name="scope"/>: set at run time, else configured, else none.</summary>
    public Caps CapsOf(string scope)
    {
        lock (_lock)
        {
            if (_set.TryGetValue(scope, out var set)) return set;
            return (scope == Scopes.Hive ? configured.Hive : configured.Agents.GetValueOrDefault(scope) ?? configured.Agent)?.ToCaps() ?? Caps.None;
        }
    }

    /// <summary>The cap of <paramref name="metric"/> in force now: a raise for this period, else the scope's cap.</summary>
    public double? CapOf(string scope, string metric, DateTimeOffset now)
    {
        lock (_lock)
            if (_raises.TryGetValue((scope, metric, Metrics.PeriodOf(metric, now)), out var raised)) return raised;
        return CapsOf(scope).Of(metric);
    }

    /// <summary>What <paramref name="scope"/> (an agent, or the hive) spent in the day or month of <paramref name="now"/>.</summary>
    public Spent SpentIn(string scope, bool daily, DateTimeOffset now)
    {
        var day = Metrics.Day(now);
        var month = Metrics.Month(now);
        var total = Spent.Zero;
        lock (_lock)
            foreach (var ((agent, d), spent) in _spent)
                if ((scope == Scopes.Hive || agent == scope) && (daily ? d == day : d.StartsWith(month, StringComparison.Ordinal)))
                    total = total.Plus(scope == Scopes.Hive ? spent.Hive : spent.Own);
        return total;
    }

    public double AmountOf(string scope, string metric, DateTimeOffset now)
    {
        var spent = SpentIn(scope, Metrics.IsDaily(metric), now);
        return Metrics.IsUsd(metric) ? spent.Usd : spent.Tokens;
    }

    /// <summary>The first cap <paramref name="scope"/> has reached now, with what was spent against it; null when none.</summary>
    public Reached? ReachedOf(string scope, DateTimeOffset now)
    {
        foreach (var metric in Metrics.All)
            if (CapOf(scope, metric, now) is { } cap && AmountOf(scope, metric, now) is var spent && spent >= cap)
                return new Reached(scope, metric, Metrics.PeriodOf(metric, now), spent, cap);
        return null;
    }

    /// <summary>
    /// The first cost cap of <paramref name="scope"/> that one more model call costing <paramref name="estimatedUsd"/> (what
    /// the agent's last call cost) would carry past, or that is reached already; null when none. So a budget stops the call
    /// that would cross it, not the one after.
    /// </summary>
    public Reached? WouldReachOf(string scope, DateTimeOffset now, double estimatedUsd)
    {
        if (ReachedOf(scope, now) is { } reached) return reached;
        if (estimatedUsd <= 0) return null;
        foreach (var metric in Metrics.All.Where(Metrics.IsUsd))
            if (CapOf(scope, metric, now) is { } cap && AmountOf(scope, metric, now) is var spent && spent + estimatedUsd > cap)
                return new Reached(scope, metric, Metrics.PeriodOf(metric, now), spent, cap);
        return null;
    }

    /// <summary>
    /// How much more <paramref name="agent"/>'s own caps of one kind (cost, or tokens) allow now: the least room left under
    /// any of them (never below 0); null when it has no cap of that kind.
    /// </summary>
    public double? RoomOf(string agent, bool usd, DateTimeOffset now)
    {
        double? room = null;
        foreach (var metric in Metrics.All.Where(m => Metrics.IsUsd(m) == usd))
            if (CapOf(agent, metric, now) is { } cap)
                room = Math.Min(room ?? double.MaxValue, Math.Max(0, cap - AmountOf(agent, metric, now)));
        return room;
    }

    /// <summary>The reached cap that holds <paramref name="agent"/>'s next turn (its own, then the hive's), unless an allowance lets it through.</summary>
    public Reached? HoldOf(string agent, DateTimeOffset now)
    {
        foreach (var scope in new[] { agent, Scopes.Hive })
            if (ReachedOf(scope, now) is { } reached && AllowanceOf(scope) <= 0)
                return reached;
        return null;
    }

    /// <summary>
    /// Scopes with caps or spend this month (every one of <paramref name="agents"/> when a default cap applies to each):
    /// the hive first, then agents by name.
    /// </summary>
    public IReadOnlyList<string> KnownScopes(DateTimeOffset now, IEnumerable<string> agents)
    {
        var month = Metrics.Month(now);
        lock (_lock)
        {
            var named = _set.Keys.Where(s => s != Scopes.Hive)
                .Concat(configured.Agent is null ? [] : agents)
                .Concat(configured.Agents.Keys)
                .Concat(_spent.Keys.Where(k => k.Day.StartsWith(month, StringComparison.Ordinal)).Select(k => k.Agent))
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            return [Scopes.Hive, .. named];
        }
    }

    /// <summary>Forgets spend before last month (the book only ever answers for this day and month).</summary>
    public void Prune(DateTimeOffset now)
    {
        var month = Metrics.Month(now);
        lock (_lock)
            foreach (var key in _spent.Keys.Where(k => string.CompareOrdinal(k.Day, month) < 0).ToList())
                _spent.Remove(key);
    }
}

/// <summary>A cap reached: by whom (scope), of what, in which period, and the figures.</summary>
public sealed record Reached(string Scope, string Metric, string Period, double Spent, double Cap);
