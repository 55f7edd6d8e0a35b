using Hive.Contracts.Agents;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Json;

namespace Hive.Features.Containers;

/// <summary>One row of the registry (<c>agents</c>).</summary>
internal sealed class AgentRecord
{
    public const string Columns = """
        name, kind, driver, origin, command, env, mounts, purpose, restart_policy, desired, state, transient, pid,
        pid_start_ticks, started_at, restarts, last_exit_code, last_exit_signal, last_exit_at, created_at, inputs, allowed_recipients, secrets,
        provider, last_exit_reason, limit_memory_mib, limit_cpu_percent, limit_pids, capabilities, network, egress, egress_ask, permissions,
        parent, may_spawn, preset, template, template_hash, providers, models
        """;

    public string Name { get; set; } = "";
    public string Kind { get; set; } = AgentKinds.Agent;
    public string Driver { get; set; } = Runtime.DriverCatalog.External;
    public string Origin { get; set; } = Origins.Api;
    /// <summary>The argv; null for an external agent (Hive does not run it).</summary>
    public JsonList? Command { get; set; }
    public JsonMap Env { get; set; } = JsonMap.Empty;
    public JsonList Mounts { get; set; } = JsonList.Empty;
    public string? Purpose { get; set; }
    public string RestartPolicy { get; set; } = RestartPolicies.OnFailure;
    public string Desired { get; set; } = DesiredStates.Running;
    public string State { get; set; } = States.Stopped;
    public string? Transient { get; set; }
    public long? Pid { get; set; }
    public long? PidStartTicks { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public long Restarts { get; set; }
    public long? LastExitCode { get; set; }
    public long? LastExitSignal { get; set; }
    public DateTimeOffset? LastExitAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public JsonList Inputs { get; set; } = JsonList.Empty;
    /// <summary>The only agents it may message or ask besides the operator and the manager; null: anyone.</summary>
    public JsonList? AllowedRecipients { get; set; }
    /// <summary>Env var name → secret name; null when none. Never a value.</summary>
    public JsonMap? Secrets { get; set; }
    /// <summary>The model provider it counts against; null: <see cref="Containers.Providers.Default"/>.</summary>
    public string? Provider { get; set; }
    /// <summary>Why the last exit happened, when the host knows (<see cref="Runtime.ExitReasons"/>).</summary>
    public string? LastExitReason { get; set; }
    /// <summary>Its own caps (null: the hive's default for each).</summary>
    public long? LimitMemoryMib { get; set; }
    public long? LimitCpuPercent { get; set; }
    public long? LimitPids { get; set; }
    /// <summary>What work it takes (<see cref="Containers.Capabilities"/>); empty: none.</summary>
    public JsonList Capabilities { get; set; } = JsonList.Empty;
    /// <summary><see cref="Hive.Shared.Egress.NetworkModes"/>; null: open, as before the setting existed.</summary>
    public string? Network { get; set; }
    /// <summary>The places a sealed agent may reach through the hive's proxy (<see cref="Hive.Shared.Egress.EgressRule"/>); null: none.</summary>
    public JsonList? Egress { get; set; }
    /// <summary>Whether a refused place becomes a question to the operator.</summary>
    public bool EgressAsk { get; set; }
    /// <summary>How its permission requests are answered (<see cref="PermissionRules"/>); null: none set, each is asked.</summary>
    public Json<AgentPermissions>? Permissions { get; set; }
    /// <summary>The agent it was spawned under; null: the top level (the manager's).</summary>
    public string? Parent { get; set; }
    /// <summary>What it may spawn without asking; null: nothing.</summary>
    public Json<AgentSpawnLimits>? MaySpawn { get; set; }
    /// <summary>The preset it was made from; null: a command of its own.</summary>
    public string? Preset { get; set; }
    /// <summary>The template it was imported from, and that template's content hash; null: not imported.</summary>
    public string? Template { get; set; }
    public string? TemplateHash { get; set; }
    /// <summary>Its provider chain (the first is <see cref="Provider"/>) and the model each later one runs; null: one provider.</summary>
    public JsonList? Providers { get; set; }
    public JsonMap? Models { get; set; }

    /// <summary>The providers its turns may run on, in order: its chain, or its one provider.</summary>
    public IReadOnlyList<string> Chain => Providers is { Count: > 0 } chain ? chain : [Provider ?? Containers.Providers.Default];

    public bool IsSealed => Network == Hive.Shared.Egress.NetworkModes.Sealed;

    public AgentLimits? OwnLimits => new AgentLimits(LimitMemoryMib, LimitCpuPercent, LimitPids).OrNull;

    /// <summary>Sets its own caps (null: the hive's default for each).</summary>
    public AgentRecord WithLimits(AgentLimits? own)
    {
        (LimitMemoryMib, LimitCpuPercent, LimitPids) = (own?.MemoryMib, own?.CpuPercent, own?.Pids);
        return this;
    }

    /// <summary>Whether it runs in a cgroup of the host's (process and bubblewrap), so its caps and usage are the host's to set and read.</summary>
    public bool InHostCgroup => Driver is "process" or "bubblewrap";

    public bool IsExternal => Driver == Runtime.DriverCatalog.External;

    public IReadOnlyList<string> Argv => Command ?? JsonList.Empty;

    public AgentInfo ToInfo(Hive.Shared.HivePaths paths) => new(Name, Kind, paths.AgentStateDir(Name));

    /// <summary>The configuration part, as the meta repo's file holds it.</summary>
    public AgentConfig ToConfig() => new(
        Argv, Driver, Env, Purpose, RestartPolicy, Mounts, Inputs, AllowedRecipients, Secrets, Provider, OwnLimits, Containers.Capabilities.InFile(Capabilities),
        Network, Egress, EgressAsk ? true : null, Permissions?.Value, Parent, MaySpawn?.Value, Providers, Models);

    /// <summary>A new agent's row from a whole configuration (driver and defaults filled in), desired running, not yet started.</summary>
    public static AgentRecord FromConfig(string name, AgentConfig config, DateTimeOffset now) => new AgentRecord
    {
        Name = name,
        Driver = config.Driver ?? Runtime.DriverCatalog.External,
        Command = config.Command is { } argv ? new(argv) : null,
        Env = new(config.Env ?? JsonMap.Empty),
        Mounts = new(config.Mounts ?? []),
        Purpose = config.Purpose,
        RestartPolicy = config.Restart ?? RestartPolicies.OnFailure,
        Inputs = new(config.Inputs ?? []),
        AllowedRecipients = CreateAgent.Stored(config.AllowedRecipients),
        Secrets = SecretStore.Stored(config.Secrets),
        Provider = config.Providers is [var first, ..] ? first : config.Provider,
        Providers = config.Providers is { } chain ? new(chain) : null,
        Models = config.Models is { } models ? new(models) : null,
        Capabilities = Containers.Capabilities.Stored(config.Capabilities),
        Network = config.Network,
        Egress = config.Egress is { } egress ? new(egress) : null,
        EgressAsk = config.EgressAsk ?? false,
        Permissions = Json<AgentPermissions>.Of(config.Permissions),
        Parent = config.Parent,
        MaySpawn = Json<AgentSpawnLimits>.Of(config.MaySpawn),
        Desired = DesiredStates.Running,
        State = States.Stopped,
        CreatedAt = now,
    }.WithLimits(config.Limits?.OrNull);

    /// <summary>This feature's part of the agent's row.</summary>
    public ContainerFacts ToFacts(string? configError = null) => new(
        Driver, Desired, State, Transient, Pid, StartedAt, Restarts,
        LastExitAt is { } at ? new LastExit(LastExitCode, LastExitSignal, at, LastExitReason) : null,
        Purpose, Command, RestartPolicy, configError, AllowedRecipients, Capabilities, Secrets, Provider ?? Containers.Providers.Default,
        Network ?? Hive.Shared.Egress.NetworkModes.Open, (IReadOnlyList<string>?)Egress ?? [], EgressAsk, Permissions?.Value, Parent, MaySpawn?.Value,
        Preset, Template is { } template ? new AgentTemplateRef(template, TemplateHash ?? "") : null, Chain, Models);
}

/// <summary>
/// The Containers feature's facts on an agent row (snake_case on the wire). <c>pid</c> is the agent's process group
/// (the driver's supervisor leads it); <c>last_exit</c> has a code, or the signal that killed it; <c>config_error</c> says
/// why its file in the meta repo could not be used (it then runs as it was); <c>allowed_recipients</c>, when not null, are
/// the only agents it may message or ask besides the operator and the manager; <c>secrets</c> maps env var names to the
/// names of the secrets they are set from (names only: a value is never on a row); <c>provider</c> is the model provider
/// it counts against, always a name (the default for an agent that named none, and for external agents);
/// <c>capabilities</c> is what work it takes (an empty list when none); <c>network</c> is <c>sealed</c> or <c>open</c> (open
/// for an agent whose configuration names none), <c>egress</c> the places a sealed agent may reach (empty when none), and
/// <c>egress_ask</c> whether a refused place becomes a question to the operator; <c>permissions</c> how its permission
/// requests are answered (null when none is set: each is asked); <c>parent</c> the agent it was spawned under (null: the
/// top level) and <c>may_spawn</c> what it may spawn without asking (null: nothing); <c>preset</c> the preset it was made
/// from (null: a command of its own) and <c>template</c> the template it was imported from, by name and content hash;
/// <c>providers</c> the providers its turns may run on, in order (its one provider when it has no chain), and <c>models</c>
/// the model each later one runs (null: no chain).
/// </summary>
public sealed record ContainerFacts(
    string Driver, string Desired, string State, string? Transient, long? Pid, DateTimeOffset? StartedAt, long Restarts,
    LastExit? LastExit, string? Purpose, IReadOnlyList<string>? Command, string Restart, string? ConfigError,
    IReadOnlyList<string>? AllowedRecipients, IReadOnlyList<string> Capabilities, IReadOnlyDictionary<string, string>? Secrets = null,
    string Provider = Providers.Default, string Network = Hive.Shared.Egress.NetworkModes.Open, IReadOnlyList<string>? Egress = null,
    bool EgressAsk = false, AgentPermissions? Permissions = null, string? Parent = null, AgentSpawnLimits? MaySpawn = null,
    string? Preset = null, AgentTemplateRef? Template = null, IReadOnlyList<string>? Providers = null, IReadOnlyDictionary<string, string>? Models = null);

/// <summary>The template an agent was imported from: its name and the content hash of its manifest.</summary>
public sealed record AgentTemplateRef(string Name, string Hash);

/// <summary>Agents whose meta file the host could not use, and why (shown on their rows until a good file is applied).</summary>
public sealed class ConfigProblems
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _problems = new(StringComparer.Ordinal);

    public string? Of(string agent) => _problems.GetValueOrDefault(agent);

    /// <summary>True when this changed what the row shows.</summary>
    public bool Set(string agent, string? problem) =>
        problem is null ? _problems.TryRemove(agent, out _) : _problems.TryGetValue(agent, out var old) && old == problem ? false : (_problems[agent] = problem) is not null;
}

/// <summary>How the agent last ended; <c>reason</c> is there only when the host knows why (<c>oom</c>: killed at its memory cap).</summary>
public sealed record LastExit(
    long? Code, long? Signal, DateTimeOffset At,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

public static class States
{
    public const string Running = "running";
    public const string Stopped = "stopped";
    public const string Crashed = "crashed";
    public const string Failed = "failed";
}

public static class DesiredStates
{
    public const string Running = "running";
    public const string Stopped = "stopped";
}

public static class Transients
{
    public const string Starting = "starting";
    public const string Stopping = "stopping";
    public const string Restarting = "restarting";
    public const string Rebuilding = "rebuilding";
    public const string Destroying = "destroying";
}

/// <summary>The model provider an agent counts against (its quota and caps): a lowercase name, <see cref="Default"/> unless it names one.</summary>
public static class Providers
{
    public const string Default = "anthropic";
    public const string Pattern = "^[a-z][a-z0-9-]{0,30}$";

    /// <summary>The same shape as an agent's name.</summary>
    public static bool IsWellFormed(string? provider) => AgentNames.IsWellFormed(provider);
}

public static class RestartPolicies
{
    public const string OnFailure = "on-failure";
    public const string Never = "never";
    public static readonly IReadOnlyList<string> All = [OnFailure, Never];
}

internal static class Origins
{
    /// <summary>From <c>Hive:Agents</c>: re-read at every start, dropped when no longer configured.</summary>
    public const string Config = "config";
    public const string Api = "api";
}
