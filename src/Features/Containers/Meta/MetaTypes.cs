using System.Text.Json.Serialization;

namespace Hive.Features.Containers;

/// <summary>
/// One agent's configuration as <c>meta/agents/&lt;name&gt;.json</c> holds it. <c>secrets</c> maps env var names to secret
/// names (<c>{"ANTHROPIC_API_KEY": "anthropic"}</c>): the file, the approval's diff and the forge hold only those names.
/// <c>provider</c> is the model provider whose quota and caps the agent counts against; null means
/// <see cref="Providers.Default"/>, and is left out of the file, so the files of agents that never named one read as before
/// (no diff, no rebuild). <c>limits</c> are its own caps (<c>{memory_mib, cpu_percent, pids}</c>, each optional: the hive's
/// default where left out), left out of the file when it sets none, for the same reason. <c>capabilities</c> is what work it
/// takes (<see cref="Containers.Capabilities"/>), left out when it has none, for the same reason. <c>network</c> is
/// <c>sealed</c> or <c>open</c> (<see cref="Hive.Shared.Egress.NetworkModes"/>; null, left out, reads as open, as before),
/// <c>egress</c> the places a sealed agent may reach through the hive's proxy (<see cref="Hive.Shared.Egress.EgressRule"/>),
/// and <c>egress_ask</c> whether a refused place becomes a question to the operator.
/// </summary>
public sealed record AgentConfig(
    IReadOnlyList<string>? Command, string? Driver, IReadOnlyDictionary<string, string>? Env, string? Purpose, string? Restart,
    IReadOnlyList<string>? Mounts, IReadOnlyList<string>? Inputs = null, IReadOnlyList<string>? AllowedRecipients = null,
    IReadOnlyDictionary<string, string>? Secrets = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Provider = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Runtime.AgentLimits? Limits = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Capabilities = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Network = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Egress = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? EgressAsk = null);

/// <summary>An outside thing agents are built from, pinned: a local git repository (pinned to a commit) or a path (a content hash).</summary>
public sealed record MetaInput(string Name, string Source, string? Pin);

/// <summary>A commit of the meta repo, for <c>GET /api/meta</c>.</summary>
public sealed record MetaCommit(string Id, string Message, DateTimeOffset At);

/// <summary>A meta file that is not a valid configuration (hand-edited, say): the agent keeps running as it was.</summary>
public sealed class MetaFileException(string message) : Hive.Shared.Errors.HiveException(message, Hive.Shared.Errors.ErrorCodes.Conflict, 409);
