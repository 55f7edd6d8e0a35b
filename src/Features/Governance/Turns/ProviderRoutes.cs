using System.Collections.Concurrent;
using System.Text.Json;
using Dapper;
using Hive.Contracts.Governance;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Data;

namespace Hive.Features.Governance;

/// <summary>
/// Which provider of its chain an agent's turns run on. A turn starts on the first provider of the chain that nothing holds
/// (its circuit closed, and not the one the agent's own quota report names) and keeps it; when all are held it waits on the
/// first. A switch (at a turn's start, or within a turn before anything happened in it) is an intervention row and a
/// <c>provider_switched</c> event in the change that makes it, and what each agent is on now, and why, is kept here for its
/// row (loaded from the interventions at first use).
/// </summary>
internal sealed class ProviderRoutes(GovernanceState state, IDb db, TimeProvider clock)
{
    public sealed record OnProvider(string Provider, string Reason, DateTimeOffset Since);

    private readonly Lazy<ConcurrentDictionary<string, OnProvider>> _on = new(() => Load(db));

    /// <summary>The provider of <paramref name="chain"/> a turn of <paramref name="agent"/> starts on now, and why not the first (null: it is the first).</summary>
    public (string Provider, string? Why) Choose(string agent, IReadOnlyList<string> chain, DateTimeOffset now)
    {
        for (var i = 0; i < chain.Count; i++)
            if (HeldOn(agent, chain[i], now) is null)
                return (chain[i], i == 0 ? null : string.Join("; ", chain.Take(i).Select(p => HeldOn(agent, p, now))));
        return (chain[0], null);
    }

    /// <summary>Why <paramref name="agent"/> cannot run on <paramref name="provider"/> now, or null.</summary>
    public string? HeldOn(string agent, string provider, DateTimeOffset now) =>
        state.CircuitOf(provider, now) is { } circuit ? $"{provider} is at its usage or rate limit until {UtcStamp(circuit.Until)}"
        : state.QuotaHoldOf(agent, now) is { } hold && hold.Provider == provider ? $"{agent} reported {provider}'s limit, until {UtcStamp(hold.Until)}"
        : null;

    /// <summary>The provider <paramref name="agent"/> was last moved to, and why; null when it never moved.</summary>
    public OnProvider? Of(string agent) => _on.Value.GetValueOrDefault(agent);

    /// <summary>Records a switch in <paramref name="change"/>: the intervention, the event, the row.</summary>
    public async Task RecordAsync(StateChange change, GovernedRows rows, string agent, long? turnId, string from, string to, string reason)
    {
        var now = clock.GetUtcNow();
        Interventions.Record(change, now, Actor.Hive, InterventionActions.ProviderSwitch, agent, reason, new { provider = from }, new { provider = to, turn_id = turnId });
        change.Raise(new ProviderSwitched(new ProviderSwitchedPayload(agent, from, to, reason, turnId, now)));
        var on = _on.Value;
        var before = on.GetValueOrDefault(agent);
        on[agent] = new OnProvider(to, reason, now);
        change.OnRolledBack(() => { if (before is null) on.TryRemove(agent, out _); else on[agent] = before; });
        await rows.RaiseAsync(change, a => a.Name == agent);
    }

    private static ConcurrentDictionary<string, OnProvider> Load(IDb db)
    {
        using var connection = db.Open();
        var latest = connection.Query<(string Target, string? After, string? Reason, DateTimeOffset At)>("""
            SELECT target, after, reason, at FROM interventions
            WHERE id IN (SELECT MAX(id) FROM interventions WHERE action = 'provider_switch' GROUP BY target)
            """);
        var on = new ConcurrentDictionary<string, OnProvider>(StringComparer.Ordinal);
        foreach (var row in latest)
            if (row.After is { } after && JsonDocument.Parse(after).RootElement.TryGetProperty("provider", out var to) && to.GetString() is { } provider)
                on[row.Target] = new OnProvider(provider, row.Reason ?? "", row.At);
        return on;
    }

    private static string UtcStamp(DateTimeOffset at) => Hive.Contracts.Json.UtcTimestamp.Format(at);
}
