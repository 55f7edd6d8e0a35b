using System.Diagnostics.Metrics;
using Dapper;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Metrics;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// Agents by state and restarts by policy, read from the registry when scraped (one small query each: the registry is
/// the truth, a removed agent's series goes with its row, and the counts survive a host restart); OOM kills counted as
/// the crash watch records them.
/// </summary>
internal sealed class ContainersMetrics : HiveMetrics
{
    private static readonly string[] AllStates = [States.Running, States.Stopped, States.Crashed, States.Failed];

    private readonly Counter<long> _oomKills;
    private readonly IDb _db;
    private readonly AgentRegistry _registry;
    private readonly ILogger<ContainersMetrics> _logger;

    public ContainersMetrics(IMeterFactory meters, IAgentDirectory agents, IDb db, AgentRegistry registry, ILogger<ContainersMetrics> logger)
        : base(meters, "Containers")
    {
        _db = db;
        _registry = registry;
        _logger = logger;
        Meter.CreateObservableGauge("hive_agents", ReadStates, description: "Agents by state (running, stopped, crashed, failed).");
        Meter.CreateObservableCounter("hive_agent_restarts_total", ReadRestarts, description: "Restarts by the restart policy, by agent.");
        _oomKills = Meter.CreateCounter<long>("hive_agent_oom_kills_total", description: "Exits killed by the kernel at the agent's memory cap, by agent.");
        SeedPerAgent(agents, _oomKills);
    }

    /// <summary>Called by the crash watch for every exit nobody asked for.</summary>
    internal void Crashed(string agent, AgentExit exit)
    {
        if (exit.Reason == ExitReasons.Oom) _oomKills.Add(1, new KeyValuePair<string, object?>("agent", agent));
    }

    private IEnumerable<Measurement<long>> ReadStates()
    {
        var counts = Guarded(() => _registry.CountByState(), new Dictionary<string, int>());
        // Every state, 0 included: a state nobody is in reads 0, not "no data".
        return counts.Keys.Union(AllStates).Select(state =>
            new Measurement<long>(counts.GetValueOrDefault(state), new KeyValuePair<string, object?>("state", state)));
    }

    private IEnumerable<Measurement<long>> ReadRestarts() =>
        Guarded(() => Read<(string Name, long Restarts)>("SELECT name, restarts FROM agents ORDER BY name"), [])
            .Select(r => new Measurement<long>(r.Restarts, new KeyValuePair<string, object?>("agent", r.Name)));

    private List<T> Read<T>(string sql)
    {
        using var connection = _db.Open();
        return connection.Query<T>(sql).AsList();
    }

    /// <summary>A scrape must not fail with storage: nothing is reported then (<c>hive_storage_healthy</c> says why).</summary>
    private T Guarded<T>(Func<T> read, T nothing)
    {
        try
        {
            return read();
        }
        catch (Exception e)
        {
            _logger.LogDebug("metrics: reading the registry failed: {Error}", e.Message);
            return nothing;
        }
    }
}
