using System.Text.Json;
using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;

namespace Hive.Features.Governance;

/// <summary>
/// The one way an intervention is written: one row in the change that takes the action (so it rolls back with it) and
/// its <c>intervention_recorded</c>. Returns the row's id.
/// </summary>
internal static class Interventions
{
    public static long Record(StateChange change, DateTimeOffset at, Actor actor, string action, string? target, string? reason, object? before, object? after)
    {
        var row = change.QuerySingle<InterventionRow>($"""
            INSERT INTO interventions (at, actor, authority, target, action, reason, before, after)
            VALUES (@at, @Name, @Authority, @target, @action, @reason, @before, @after)
            RETURNING {InterventionRow.Columns}
            """, new { at, actor.Name, actor.Authority, target, action, reason, before = Json(before), after = Json(after) });
        change.Raise(new InterventionRecorded(row.View()));
        return row.Id;
    }

    /// <summary>The latest intervention of <paramref name="action"/> on <paramref name="target"/> still in force (not reverted).</summary>
    public static InterventionRow? LatestInForce(StateChange change, string action, string? target) => change.QuerySingleOrDefault<InterventionRow>($"""
        SELECT {InterventionRow.Columns} FROM interventions
        WHERE action = @action AND target IS @target AND reverted_by IS NULL ORDER BY id DESC LIMIT 1
        """, new { action, target });

    /// <summary>A slice below this one records its action here, in its own running change.</summary>
    internal sealed class FromBelow(StateChanges changes, TimeProvider clock) : MediatR.IRequestHandler<RecordIntervention, long>
    {
        public Task<long> Handle(RecordIntervention request, CancellationToken cancellationToken) =>
            Task.FromResult(Record(changes.Current, clock.GetUtcNow(), request.By, request.Action, request.Target, request.Reason, request.Before, request.After));
    }

    private static string? Json(object? value) => value is null ? null : JsonSerializer.Serialize(value, HiveJson.Options);
}

internal sealed record InterventionRow(long Id, DateTimeOffset At, string Actor, long Authority, string? Target, string Action, string? Reason,
    Json<JsonElement>? Before, Json<JsonElement>? After, long? RevertedBy, DateTimeOffset? RevertedAt)
{
    public const string Columns = "id, at, actor, authority, target, action, reason, before, after, reverted_by, reverted_at";

    public InterventionView View() => new(Id, At, Actor, (int)Authority, Hive.Shared.Audit.Authority.Name((int)Authority), Target, Action, Reason,
        Before?.Value, After?.Value, RevertedBy, RevertedAt);
}

/// <summary>An intervention was recorded (or, with <c>reverted_by</c> set, reverted).</summary>
public sealed record InterventionRecorded(InterventionView Intervention) : IDashboardEvent<InterventionRecordedPayload>
{
    public string EventType => "intervention_recorded";
    public InterventionRecordedPayload Payload => new(Intervention);
}
