using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Hive.Contracts.Agents;

/// <summary>An agent's name as the hive takes it: a lower-case letter, then up to 30 letters, digits or dashes.</summary>
internal static class NamePattern
{
    public const string Agent = "^[a-z][a-z0-9-]{0,30}$";
}

public sealed record TargetArgs([property: Required, Description("the agent")] string? Name);

public sealed record TargetAndReasonArgs(
    [property: Required, Description("the agent")] string? Name,
    [property: Description("why, shown to the operator with the intervention")] string? Reason);

public sealed record ListAgentsArgs(
    [property: RegularExpression(NamePattern.Agent), Description("only the agents having this capability, e.g. review")] string? Capability = null);

public sealed record SpawnArgs(
    [property: Required, RegularExpression(NamePattern.Agent), Description("the new agent's name")] string? Name,
    [property: Required, Description("what the agent is for, for the operator deciding (at most 1024 bytes)")] string? Purpose,
    [property: Description("the program and its arguments (default: the preset's, else the hive's default command)")] IReadOnlyList<string>? Command,
    [property: Description("process, bubblewrap or nixos-container (default: the hive's)")] string? Driver,
    [property: Description("a preset the hive knows, e.g. claude-code")] string? Preset,
    [property: Description("environment variables for the agent")] IReadOnlyDictionary<string, string>? Env,
    [property: Description("environment variable name -> the name of an operator's secret to put there (never a value)")]
    IReadOnlyDictionary<string, string>? Secrets,
    [property: Description("host paths the sandbox shows the agent, read-only")] IReadOnlyList<string>? Mounts,
    [property: RegularExpression(NamePattern.Agent), Description("the model provider whose quota and caps it counts against (default: the preset's, else anthropic)")]
    string? Provider = null,
    [property: Description("its own caps (memory MiB, CPU % of one core, processes); each left out is the hive's default")] AgentLimits? Limits = null,
    [property: MaxLength(16), Description("the kinds of work it takes, e.g. design, code, review")] IReadOnlyList<string>? Capabilities = null,
    [property: AllowedValues("sealed", "open"), Description("sealed: no network but the hive's proxy to its egress places; open (default): the host's network")]
    string? Network = null,
    [property: Description("the places a sealed agent may reach through the hive's proxy, e.g. registry.npmjs.org:443")] IReadOnlyList<string>? Egress = null,
    [property: Description("a refused place becomes a question to the operator")] bool? EgressAsk = null);

public sealed record DestroyArgs(
    [property: Required, Description("the agent to destroy")] string? Name,
    [property: Required, Description("why, for the operator deciding (at most 1024 bytes)")] string? Reason);

public sealed record ProposeConfigArgs(
    [property: Required, Description("the agent")] string? Name,
    [property: Required, Description("the agent's whole configuration")] AgentConfig? Config);

public sealed record ApprovalReply(long ApprovalId);

public sealed record AgentReply(string Agent);

// An agent row is composed at run time from every slice's facts (Hive.Shared.Agents.AgentRow), so no record here can
// declare its fields: the replies carry it as object, which the wire's serializer writes by the row's own type.

/// <summary><c>list_agents</c>'s reply: the agents' rows, as <c>/api/state</c> shows them.</summary>
public sealed record AgentsReply(
    [property: Description("each agent's row as /api/state shows it: name, kind, state, purpose, ... (every slice adds its facts)")]
    IReadOnlyList<object> Agents);

/// <summary>The reply of a lifecycle verb (<c>start</c>, <c>stop</c>, <c>restart</c>, <c>rebuild</c>): the agent's row once it is done.</summary>
public sealed record AgentRowReply(
    [property: Description("the agent's row as /api/state shows it")] object Agent);

/// <summary>The manager's verbs: lifecycle actions on other agents, requests the operator approves, the list of agents.</summary>
public static class ManagerVerbs
{
    public static readonly SocketVerb<ListAgentsArgs, AgentsReply> ListAgents = new("list_agents",
        "List every agent of the hive with its state: name, kind, driver, desired and actual state (running, stopped, crashed, " +
        "failed), transient action, pid, restarts, last exit, purpose, command, pending reminders, what it waits on. " +
        "Returns {agents: [...]}; with a capability, only the agents having it.", VerbCaller.Manager, McpTool: true, Reach: VerbReach.Own);

    public static readonly SocketVerb<SpawnArgs, ApprovalReply> RequestSpawn = new("request_spawn",
        "Ask the operator for a new agent. Nothing runs yet: this creates a spawn approval that the operator approves or denies " +
        "on the dashboard; the hive checks now what it can (a free, well-formed name, no request for it already waiting, a " +
        "runnable command), and refuses with validation, conflict or not_found when it cannot run. Returns {approval_id}; " +
        "when the operator decides you get a message from hive of kind approval_resolved (approval_id, status approved or " +
        "denied, reason), and an approved agent starts at once.", VerbCaller.Manager, McpTool: true);

    public static readonly SocketVerb<DestroyArgs, ApprovalReply> RequestDestroy = new("request_destroy",
        "Ask the operator to destroy an agent: its process is stopped, its socket dropped, and its state dir kept as a tombstone " +
        "(a later spawn of the same name takes it back). Nothing happens until the operator approves. Returns {approval_id}; " +
        "you get a message from hive of kind approval_resolved when the operator decides.", VerbCaller.Manager, McpTool: true);

    public static readonly SocketVerb<ProposeConfigArgs, ApprovalReply> ProposeConfig = new("propose_config",
        "Propose a whole new configuration for an existing agent (not an external one, and not yourself). It is checked as a " +
        "new agent would be, pinned in the meta repo, and shown to the operator as a diff; approved, it is committed and exactly " +
        "that agent is rebuilt on it (if the new configuration fails to start, the old one is restored and you get a " +
        "config_failed message). Omitted fields take their defaults, so send every field you want to keep. Returns " +
        "{approval_id}; you get a message from hive of kind approval_resolved when the operator decides.", VerbCaller.Manager, McpTool: true);

    public static readonly SocketVerb<TargetArgs, AgentRowReply> Start = new("start",
        "Start a stopped agent (not yourself). Needs no approval: it changes no configuration. Returns {agent} once it is done.",
        VerbCaller.Manager, McpTool: true);

    public static readonly SocketVerb<TargetArgs, AgentRowReply> Stop = new("stop",
        "Stop an agent (not yourself); it stays stopped until started again. Needs no approval. Returns {agent} once it is done.",
        VerbCaller.Manager, McpTool: true);

    public static readonly SocketVerb<TargetArgs, AgentRowReply> Restart = new("restart",
        "Stop and start an agent (not yourself) with its current configuration. Needs no approval. Returns {agent} once it is done.",
        VerbCaller.Manager, McpTool: true);

    public static readonly SocketVerb<TargetArgs, AgentRowReply> Rebuild = new("rebuild",
        "Restart an agent (not yourself) on its meta file as it is now (after an approved configuration or a meta input update). " +
        "A file the hive cannot use is refused with conflict and the agent keeps running as it was. Returns {agent} once it is done.",
        VerbCaller.Manager, McpTool: true);

    public static readonly SocketVerb<TargetAndReasonArgs, AgentReply> Pause = new("pause",
        "Pause an agent (not yourself): its running turn is told to stop, no turn is granted and its recv hands out nothing until " +
        "it is resumed. Recorded as an intervention at your authority (monitor): the operator sees it and can revert it. " +
        "Returns {agent}.", VerbCaller.Manager, McpTool: true);

    public static readonly SocketVerb<TargetAndReasonArgs, AgentReply> Resume = new("resume",
        "Resume an agent you or a lower authority paused (not yourself). A pause by the operator is not yours to lift: that is " +
        "refused with forbidden. Recorded as an intervention. Returns {agent}.", VerbCaller.Manager, McpTool: true);
}
