using Hive.Contracts.Permissions;
using Hive.Shared.Data;

namespace Hive.Features.Permissions;

/// <summary>One row of <c>permission_requests</c>.</summary>
internal sealed class PermissionRow
{
    public const string Columns = """
        id, agent, title, kind, tool, command, paths, options, tool_call_id, asked_at, state, decided_by, rule, option_id, question_id, decided_at
        """;

    public long Id { get; set; }
    public string Agent { get; set; } = "";
    public string Title { get; set; } = "";
    public string? Kind { get; set; }
    public string? Tool { get; set; }
    public string? Command { get; set; }
    public Json<string[]> Paths { get; set; } = null!;
    public Json<PermissionOption[]> Options { get; set; } = null!;
    public string? ToolCallId { get; set; }
    public DateTimeOffset AskedAt { get; set; }
    public string State { get; set; } = "";
    public string? DecidedBy { get; set; }
    public string? Rule { get; set; }
    public string? OptionId { get; set; }
    public long? QuestionId { get; set; }
    public DateTimeOffset? DecidedAt { get; set; }

    public IReadOnlyList<PermissionOption> OfferedOptions => Options.Value ?? [];

    public PermissionRequestView View() => new(
        Id, Agent, Title, Kind, Tool, Command, Paths.Value ?? [], OfferedOptions, ToolCallId, AskedAt, State, DecidedBy, Rule, OptionId, QuestionId, DecidedAt);
}

internal static class PermissionStates
{
    public const string Asking = "asking";
}
