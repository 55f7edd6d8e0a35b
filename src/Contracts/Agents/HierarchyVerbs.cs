using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Hive.Contracts.Agents;

public sealed record ChildSpawnArgs(
    [property: Required, RegularExpression(NamePattern.Agent), Description("the child's name")] string? Name,
    [property: Required, Description("what the child is for (at most 1024 bytes)")] string? Purpose,
    [property: Description("a preset the hive knows, e.g. claude-code")] string? Preset = null,
    [property: Description("the program and its arguments, when no preset")] IReadOnlyList<string>? Command = null,
    [property: Description("what the child may spawn in turn without asking: {depth, children}, within yours (one level less)")]
    AgentSpawnLimits? MaySpawn = null,
    [property: Description("USD a month the child may spend, carved from your own monthly budget (more than 0; no more than you have left)")]
    double? Budget = null);

/// <summary>
/// <c>spawn</c>'s reply: <c>spawned</c> with the child's row, or <c>asked</c> with the approval the operator decides and
/// the reason it was asked (which of your limits the spawn goes beyond).
/// </summary>
public sealed record ChildSpawnReply(
    [property: Description("spawned or asked")] string Outcome,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("the child's row, when spawned")] object? Agent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("the approval the operator decides, when asked")] long? ApprovalId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("why it was asked")] string? Reason = null);

/// <summary>The verbs of the agents' hierarchy: an agent spawns children under itself, within limits the host holds.</summary>
public static class HierarchyVerbs
{
    public const string Spawned = "spawned";
    public const string Asked = "asked";

    public static readonly SocketVerb<ChildSpawnArgs, ChildSpawnReply> Spawn = new("spawn",
        "Spawn a child agent under you, from a preset or a command. Within your may_spawn (children alive under you, how deep, " +
        "no wider network or egress than yours) it starts at once: {outcome: spawned, agent}. Beyond them it becomes a spawn " +
        "approval the operator decides: {outcome: asked, approval_id, reason}, and you get a message from hive of kind " +
        "approval_resolved when they do. A budget is a share of your monthly cost budget: more than you have left is refused " +
        "either way, and the child's turns are held once it has spent it. A child reaches only its own subtree, you and the operator.", VerbCaller.Agent, McpTool: true);
}
