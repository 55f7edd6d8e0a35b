using System.Data;
using System.Text.Json;
using Dapper;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;

namespace Hive.Features.Gateway.Replays;

/// <summary>A <c>replays</c> row as stored.</summary>
internal sealed record ReplayRow(
    long Id, string Agent, string SourceAgent, long SourceTurn, string OnDivergence, string State, long CallsReplayed, long CallsRecorded,
    Json<Divergence>? Divergence, string? Note, DateTimeOffset CreatedAt, DateTimeOffset? EndedAt, long? TurnId)
{
    public const string Columns =
        "id, agent, source_agent, source_turn, on_divergence, state, calls_replayed, calls_recorded, divergence, note, created_at, ended_at, turn_id";

    private sealed record CaptureRow(long Id, string Verb, string Args, DateTimeOffset At);

    /// <summary>A replay with what it captured; null when there is none of that id.</summary>
    public static ReplayView? Read(IDbConnection connection, long id, IDbTransaction? transaction = null)
    {
        var row = connection.QuerySingleOrDefault<ReplayRow>($"SELECT {Columns} FROM replays WHERE id = @id", new { id }, transaction);
        return row?.View(connection, transaction);
    }

    public ReplayView View(IDbConnection connection, IDbTransaction? transaction = null)
    {
        var captured = connection.Query<CaptureRow>(
            "SELECT id, verb, args, at FROM replay_captures WHERE replay_id = @Id ORDER BY id", new { Id }, transaction)
            .Select(c => new CapturedVerb(c.Id, c.Verb, JsonDocument.Parse(c.Args).RootElement.Clone(), c.At)).ToList();
        return new ReplayView(Id, Agent, SourceAgent, SourceTurn, OnDivergence, State, (int)CallsReplayed, (int)CallsRecorded,
            Divergence?.Value, Note, CreatedAt, EndedAt, captured, TurnId);
    }

    public static string Serialize(Divergence divergence) => JsonSerializer.Serialize(divergence, HiveJson.Options);
}

/// <summary><c>replay_changed</c>: a replay began, answered a call, captured a verb, diverged or ended.</summary>
public sealed record ReplayChanged(ReplayView Replay) : IDashboardEvent<ReplayChangedPayload>
{
    public string EventType => "replay_changed";
    public ReplayChangedPayload Payload => new(Replay);
}
