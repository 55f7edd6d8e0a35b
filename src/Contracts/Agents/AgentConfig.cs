using System.Text.Json.Serialization;

namespace Hive.Contracts.Agents;

/// <summary>
/// One agent's configuration as <c>meta/agents/&lt;name&gt;.json</c> holds it. <c>secrets</c> maps env var names to secret
/// names (<c>{"ANTHROPIC_API_KEY": "anthropic"}</c>): the file, the approval's diff and the forge hold only those names.
/// <c>provider</c> is the model provider whose quota and caps the agent counts against; null means
/// the default provider (anthropic), and is left out of the file, so the files of agents that never named one read as before
/// (no diff, no rebuild). <c>limits</c> are its own caps (<c>{memory_mib, cpu_percent, pids}</c>, each optional: the hive's
/// default where left out), left out of the file when it sets none, for the same reason. <c>capabilities</c> is what work it
/// takes , left out when it has none, for the same reason. <c>network</c> is
/// <c>sealed</c> or <c>open</c> (null, left out, reads as open, as before),
/// <c>egress</c> the places a sealed agent may reach through the hive's proxy,
/// and <c>egress_ask</c> whether a refused place becomes a question to the operator. <c>permissions</c> answers an ACP
/// agent's permission requests (<see cref="AgentPermissions"/>), left out when it has none. <c>parent</c> is the agent it
/// was spawned under (left out: the top level, the manager's), and <c>may_spawn</c> what it may spawn without asking
/// (<see cref="AgentSpawnLimits"/>), left out when nothing. <c>providers</c> is a chain of providers (the first is its
/// <c>provider</c>): when one's circuit is open its turns run on the next, with the model <c>models</c> maps that provider to
/// (<see cref="ProviderChains"/>); both left out for an agent on one provider.
/// </summary>
public sealed record AgentConfig(
    IReadOnlyList<string>? Command, string? Driver, IReadOnlyDictionary<string, string>? Env, string? Purpose, string? Restart,
    IReadOnlyList<string>? Mounts, IReadOnlyList<string>? Inputs = null, IReadOnlyList<string>? AllowedRecipients = null,
    IReadOnlyDictionary<string, string>? Secrets = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Provider = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AgentLimits? Limits = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Capabilities = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Network = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Egress = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? EgressAsk = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AgentPermissions? Permissions = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Parent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AgentSpawnLimits? MaySpawn = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Providers = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Models = null);

/// <summary>
/// The shape of a provider chain (<c>providers</c> with <c>models</c>): two to <see cref="MaxLength"/> distinct provider names,
/// the first the agent's own <c>provider</c> (its model is what the agent asks for), every later one mapped to the model it
/// runs there, and no mapping for a provider outside the chain. Whether the gateway serves them is the host's to say.
/// </summary>
public static class ProviderChains
{
    public const int MaxLength = 4;

    /// <summary>Why these cannot be an agent's chain, or null (also null for no chain at all).</summary>
    public static string? Problem(string? provider, IReadOnlyList<string>? providers, IReadOnlyDictionary<string, string>? models)
    {
        if (providers is null) return models is { Count: > 0 } ? "models maps the providers of a chain: give providers too" : null;
        if (providers.Count is < 2 or > MaxLength) return $"providers is a chain of 2 to {MaxLength} providers (leave it out for one)";
        if (providers.FirstOrDefault(p => !System.Text.RegularExpressions.Regex.IsMatch(p ?? "", "^[a-z][a-z0-9-]{0,30}$")) is { } bad)
            return $"providers: '{bad}' is not a provider's name (^[a-z][a-z0-9-]{{0,30}}$)";
        if (providers.Distinct(StringComparer.Ordinal).Count() != providers.Count) return "providers names a provider twice";
        if (provider is not null && provider != providers[0]) return $"provider is {provider} but the chain starts with {providers[0]}: the first of providers is the agent's provider";
        foreach (var later in providers.Skip(1))
            if (models?.GetValueOrDefault(later) is not { Length: > 0 })
                return $"models has no model for {later}: each provider after the first needs the model the agent runs there (models: {{\"{later}\": \"...\"}})";
        if (models?.Keys.FirstOrDefault(k => !providers.Contains(k)) is { } stray) return $"models maps {stray}, which is not in providers";
        if (models?.FirstOrDefault(m => m.Value is not { Length: > 0 and <= 200 } || m.Value.Any(char.IsControl)) is { Key: not null } wrong)
            return $"models: the model for {wrong.Key} must be 1 to 200 characters without control characters";
        return null;
    }
}

/// <summary>
/// What an agent may spawn with the <c>spawn</c> verb without asking (<c>may_spawn: {depth, children}</c>): children down to
/// <c>depth</c> levels below it (1: children that spawn nothing without asking), at most <c>children</c> of them alive at once.
/// A spawn beyond them is asked of the operator, or with <c>ask: "parent"</c> of the agent's own parent (a typed question it
/// answers approve or deny; the operator may still decide the approval first). The host's limits: a child's own may_spawn is
/// within its parent's, one level less.
/// </summary>
public sealed record AgentSpawnLimits(
    long? Depth = null, long? Children = null, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Ask = null)
{
    public const long MaxDepth = 8;
    public const long MaxChildren = 64;
    public const string AskOperator = "operator";
    public const string AskParent = "parent";

    /// <summary>Why these limits cannot be an agent's, or null.</summary>
    [JsonIgnore]
    public string? Problem => Depth is not (>= 1 and <= MaxDepth) ? $"may_spawn.depth must be 1 to {MaxDepth}"
        : Children is not (>= 1 and <= MaxChildren) ? $"may_spawn.children must be 1 to {MaxChildren}"
        : Ask is not (null or AskOperator or AskParent) ? $"may_spawn.ask is {AskOperator} or {AskParent} (who decides a spawn beyond these limits)" : null;
}

/// <summary>
/// An agent's own caps, as its configuration holds them (<c>limits: {memory_mib, cpu_percent, pids}</c>); a cap left
/// out is the hive's default (and out of the meta file). Longs, so an out-of-range number is refused with its bounds
/// rather than as a body that does not parse.
/// </summary>
public sealed record AgentLimits(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? MemoryMib = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? CpuPercent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Pids = null);

