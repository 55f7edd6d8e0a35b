using Dapper;
using Hive.Contracts.Containers;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// The registry's reads and writes (<c>agents</c>, <c>tombstones</c>), and the directory's seed: the agents the hive
/// starts with are the registry's, after the configured external agents (<c>Hive:Agents</c>) and the manager are
/// written into it.
/// </summary>
internal sealed class AgentRegistry(
    IDb db, StateChanges changes, HivePaths paths, IOptions<HiveOptions> options, TimeProvider clock, AllowedRecipients allowed,
    TombstoneRetention retention)
    : IAgentDirectorySeed
{
    public IReadOnlyList<AgentInfo> ReadAtStartUp()
    {
        var configured = Configured(options.Value);
        using var connection = db.Open();
        using var transaction = connection.BeginTransaction(deferred: false);
        var now = clock.GetUtcNow();
        // Configured agents come and go with the configuration, as before there was a registry; agents created through
        // the API stay until destroyed. A configured name that the operator has since spawned keeps its spawned row.
        var existing = connection.Query<AgentRecord>($"SELECT {AgentRecord.Columns} FROM agents", transaction: transaction)
            .ToDictionary(a => a.Name, StringComparer.Ordinal);
        foreach (var stale in existing.Values.Where(a => a.Origin == Origins.Config && !configured.ContainsKey(a.Name)))
            connection.Execute("DELETE FROM agents WHERE name = @Name", new { stale.Name }, transaction);
        foreach (var (name, capabilities) in configured)
        {
            if (existing.TryGetValue(name, out var record))
            {
                // Its capabilities are the configuration's, as of this start.
                if (record.Origin == Origins.Config)
                    connection.Execute("UPDATE agents SET capabilities = @capabilities WHERE name = @name",
                        new { name, capabilities = Capabilities.Stored(capabilities) }, transaction);
                continue;
            }
            connection.Execute("DELETE FROM tombstones WHERE name = @name", new { name }, transaction);
            connection.Execute(Insert, new AgentRecord
            {
                Name = name,
                Kind = name == AgentNames.Manager ? AgentKinds.Manager : AgentKinds.Agent,
                Origin = Origins.Config,
                Desired = DesiredStates.Running,
                State = States.Running, // an external agent's socket is open: as running as Hive can tell
                CreatedAt = now,
                Capabilities = Capabilities.Stored(capabilities),
            }, transaction);
        }
        var records = connection.Query<AgentRecord>($"SELECT {AgentRecord.Columns} FROM agents", transaction: transaction).ToList();
        transaction.Commit();
        foreach (var record in records) allowed.Set(record.Name, record.AllowedRecipients, record.Parent);
        return records.Select(a => a.ToInfo(paths)).ToList();
    }

    /// <summary>The configured external agents and their capabilities, the manager first (with none).</summary>
    private static IReadOnlyDictionary<string, IReadOnlyList<string>> Configured(HiveOptions options)
    {
        var agents = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { [AgentNames.Manager] = [] };
        foreach (var agent in options.Agents.Where(a => !string.IsNullOrWhiteSpace(a.Name)))
        {
            var name = agent.Name!;
            if (!AgentNames.IsWellFormed(name))
                throw new Hive.Shared.Errors.HiveStartupException($"Hive:Agents: '{name}' is not a valid agent name (^[a-z][a-z0-9-]{{0,30}}$)");
            if (name == AgentNames.Manager) continue;
            if (AgentNames.Reserved.Contains(name))
                throw new Hive.Shared.Errors.HiveStartupException($"Hive:Agents: '{name}' is reserved");
            if (Capabilities.Problem(agent.Capabilities) is { } problem)
                throw new Hive.Shared.Errors.HiveStartupException($"Hive:Agents: '{name}': {problem}");
            if (agents.TryGetValue(name, out var earlier) && earlier.Count > 0 && agent.Capabilities.Count > 0)
                throw new Hive.Shared.Errors.HiveStartupException($"Hive:Agents: '{name}' is given capabilities twice");
            if (!agents.TryGetValue(name, out var given) || given.Count == 0) agents[name] = agent.Capabilities.ToList();
        }
        return agents;
    }

    public const string Insert = $"""
        INSERT INTO agents ({AgentRecord.Columns})
        VALUES (@Name, @Kind, @Driver, @Origin, @Command, @Env, @Mounts, @Purpose, @RestartPolicy, @Desired, @State, @Transient,
                @Pid, @PidStartTicks, @StartedAt, @Restarts, @LastExitCode, @LastExitSignal, @LastExitAt, @CreatedAt, @Inputs, @AllowedRecipients, @Secrets,
                @Provider, @LastExitReason, @LimitMemoryMib, @LimitCpuPercent, @LimitPids, @Capabilities, @Network, @Egress, @EgressAsk, @Permissions,
                @Parent, @MaySpawn, @Preset, @Template, @TemplateHash, @Providers, @Models)
        """;

    /// <summary>Reads in the caller's running change when there is one (to see what it wrote), else on a connection of its own.</summary>
    public T Read<T>(Func<System.Data.IDbConnection, System.Data.IDbTransaction?, T> read)
    {
        if (changes.TryGetCurrent(out var change)) return read(change.Connection, change.Transaction);
        using var connection = db.Open();
        return read(connection, null);
    }

    public AgentRecord? Find(string name) => Read((c, t) =>
        c.QuerySingleOrDefault<AgentRecord>($"SELECT {AgentRecord.Columns} FROM agents WHERE name = @name", new { name }, t));

    /// <summary>
    /// The name's slot (<c>agent_slots</c>), given the first time it is asked for and never to another name: a read at every
    /// later start, not a write.
    /// </summary>
    public long SlotOf(string name) => Read((c, t) =>
        c.QuerySingleOrDefault<long?>("SELECT slot FROM agent_slots WHERE name = @name", new { name }, t)
        ?? c.QuerySingle<long>("""
            INSERT INTO agent_slots (name) VALUES (@name) ON CONFLICT (name) DO NOTHING;
            SELECT slot FROM agent_slots WHERE name = @name;
            """, new { name }, t));

    /// <summary>The names of the agents having <paramref name="capability"/> (a well-formed name).</summary>
    public IReadOnlySet<string> WithCapability(string capability) => Read((c, t) =>
        c.Query<string>("SELECT name FROM agents WHERE EXISTS (SELECT 1 FROM json_each(agents.capabilities) WHERE value = @capability)",
            new { capability }, t).ToHashSet(StringComparer.Ordinal));

    /// <summary>How many agents are in each state (only the states someone is in).</summary>
    public IReadOnlyDictionary<string, int> CountByState() => Read<IReadOnlyDictionary<string, int>>((c, t) =>
        c.Query<(string State, int Count)>("SELECT state, count(*) FROM agents GROUP BY state", transaction: t)
            .ToDictionary(r => r.State, r => r.Count, StringComparer.Ordinal));

    public IReadOnlyList<AgentRecord> All() => Read((c, t) =>
        c.Query<AgentRecord>($"SELECT {AgentRecord.Columns} FROM agents ORDER BY name", transaction: t).AsList());

    public IReadOnlyList<TombstoneView> Tombstones()
    {
        var now = clock.GetUtcNow();
        return Read((c, t) =>
            c.Query<(string Name, DateTimeOffset DestroyedAt, long Bytes, string? KeptReason, DateTimeOffset? CheckedAt)>(
                    "SELECT name, destroyed_at, bytes, kept_reason, checked_at FROM tombstones ORDER BY destroyed_at DESC, name", transaction: t)
                .Select(x => new TombstoneView(x.Name, x.DestroyedAt, x.Bytes, retention.StatusOf(x.DestroyedAt, x.KeptReason, x.CheckedAt, now)))
                .ToList());
    }

    /// <summary>The tombstones and their summary, as the snapshot and every <see cref="TombstonesChanged"/> carry them.</summary>
    public TombstonesChanged TombstonesNow()
    {
        var list = Tombstones();
        return new TombstonesChanged(list, retention.Summary(list.Sum(t => t.Bytes)));
    }

    /// <summary>Bytes under an agent's dir now (for its tombstone).</summary>
    public long SizeOf(string agent) => HivePaths.BytesUnder(paths.AgentDir(agent));

    /// <summary>Destroys the operator approved that were not done (the host died between the decision and the deed).</summary>
    public IReadOnlyList<(long Id, string Agent, string Requester)> ApprovedDestroysNotApplied() => Read((c, t) =>
        c.Query<(long, string, string)>(
            "SELECT id, agent, requester FROM approvals WHERE kind = 'destroy' AND status = 'approved' AND applied_at IS NULL ORDER BY id",
            transaction: t).AsList());

    public bool IsTombstone(string name) => Read((c, t) =>
        c.ExecuteScalar<long>("SELECT count(*) FROM tombstones WHERE name = @name", new { name }, t) > 0);
}
