using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Hive.Contracts.Permissions;

/// <summary>One of the answers the agent offers (ACP's <c>PermissionOption</c>): <c>kind</c> is allow_once, allow_always, reject_once or reject_always.</summary>
public sealed record PermissionOption([property: Required] string? Id, string? Name, string? Kind);

public sealed record PermissionArgs(
    [property: Required, Description("what the agent says the call does, as a person reads it")] string? Title,
    [property: Description("the call's kind: read, edit, delete, move, search, execute, think, fetch, other")] string? Kind,
    [property: Description("the tool's name, when the agent says it")] string? Tool,
    [property: Description("for a command: its command line")] string? Command,
    [property: Description("the files the call touches")] string[]? Paths,
    [property: Required, Description("the answers the agent offers")] PermissionOption[]? Options,
    [property: Description("the agent's id of the tool call")] string? ToolCallId);

/// <param name="Decision"><c>allow</c> or <c>deny</c>.</param>
/// <param name="OptionId">The agent's option to answer with; null when it offered none of that kind (answer <c>cancelled</c>).</param>
/// <param name="By">Who decided: <c>policy</c> (with the rule), <c>operator</c>, <c>manager</c>, or <c>expired</c> (the policy's default).</param>
public sealed record PermissionReply(long Id, string Decision, string? OptionId, string By, string? Rule, long? QuestionId);

/// <summary>The verb the harness of an ACP agent calls for each permission request; it waits for the decision.</summary>
public static class PermissionVerbs
{
    public static readonly Hive.Contracts.Protocol.SocketVerb<PermissionArgs, PermissionReply> Request = new("permission",
        "The harness asks whether the agent may make a tool call; the hive's policy for the agent answers, or a question to the operator does (the reply waits for it).");
}
