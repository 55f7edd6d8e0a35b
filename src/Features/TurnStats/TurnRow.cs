using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Contracts.TurnStats;
using Hive.Shared.Data;

namespace Hive.Features.TurnStats;

/// <summary>A <c>turns</c> row as stored (<c>tools</c> is its JSON text).</summary>
internal sealed record TurnRow(
    long Id, string Agent, DateTimeOffset RecordedAt, string? Model, string? WakeFrom, string ResultKind,
    DateTimeOffset StartedAt, DateTimeOffset EndedAt, long DurationMs, long InputTokens, long OutputTokens,
    long CacheReadTokens, long CacheCreationTokens, long ToolCallCount, Json<Dictionary<string, long>> Tools, long? OpenThreadsCount,
    long? OpenRemindersCount, string? Note, double? CostUsd, string? CostSource, double? ReportedCostUsd, long? GrantedTurnId)
{
    public const string Columns = """
        id, agent, recorded_at, model, wake_from, result_kind, started_at, ended_at, duration_ms, input_tokens,
        output_tokens, cache_read_tokens, cache_creation_tokens, tool_call_count, tools, open_threads_count,
        open_reminders_count, note, cost_usd, cost_source, reported_cost_usd, granted_turn_id
        """;

    public TurnView View() => new(
        Id, Agent, RecordedAt, Model, WakeFrom, ResultKind, StartedAt, EndedAt, DurationMs, InputTokens, OutputTokens,
        CacheReadTokens, CacheCreationTokens, ToolCallCount,
        Tools.Value ?? [],
        OpenThreadsCount, OpenRemindersCount, Note, CostUsd, CostSource, ReportedCostUsd, GrantedTurnId);
}
