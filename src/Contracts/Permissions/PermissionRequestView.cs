namespace Hive.Contracts.Permissions;

/// <summary>
/// One permission request of an agent and how it was decided. <c>state</c> is <c>asking</c> (its question, <c>question_id</c>,
/// is open), <c>allow</c> or <c>deny</c>; <c>decided_by</c> is <c>policy</c> (<c>rule</c> says which), <c>hive</c> (the hive's
/// own tools), <c>operator</c>, <c>manager</c>, <c>expired</c> (the policy's default) or <c>cancelled</c>.
/// </summary>
public sealed record PermissionRequestView(
    long Id, string Agent, string Title, string? Kind, string? Tool, string? Command, IReadOnlyList<string> Paths,
    IReadOnlyList<PermissionOption> Options, string? ToolCallId, DateTimeOffset AskedAt, string State, string? DecidedBy,
    string? Rule, string? OptionId, long? QuestionId, DateTimeOffset? DecidedAt);
