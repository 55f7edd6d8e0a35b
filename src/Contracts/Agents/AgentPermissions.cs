using System.Text.Json.Serialization;

namespace Hive.Contracts.Agents;

/// <summary>
/// How an agent's permission requests (an ACP agent's <c>session/request_permission</c>: run this command, edit this file)
/// are answered. Each rule is <c>KIND</c> or <c>KIND:PATTERN</c>: KIND is the tool call's kind as the agent names it
/// (<c>read</c>, <c>edit</c>, <c>delete</c>, <c>move</c>, <c>search</c>, <c>execute</c>, <c>think</c>, <c>fetch</c>,
/// <c>other</c>), <c>tool</c> (PATTERN matches the tool's name) or <c>*</c>; PATTERN is a glob over the call's paths (every
/// one must match; <c>**</c> crosses <c>/</c>) or, for <c>execute</c>, its command line. A request matching a <c>deny</c>
/// rule is refused, else one matching an <c>ask</c> rule is asked, else one matching an <c>allow</c> rule is allowed; the
/// rest are asked. A question goes to <c>ask_to</c> (the operator, or the manager) and, unanswered after
/// <c>ttl_seconds</c>, resolves as <c>default</c> (<c>deny</c> unless it says <c>allow</c>).
/// </summary>
public sealed record AgentPermissions(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Allow = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Ask = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Deny = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Default = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? TtlSeconds = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AskTo = null);
