using System.Text.Json;
using Dapper;
using Hive.Contracts.Json;
using Hive.Contracts.Work;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Work.Radar;

/// <summary>
/// What the radar found against the risks open now: a new one is raised (both owners get one <c>conflict_risk</c> message
/// naming the other ticket and the files), one that grew to a danger is raised again (so are they), one that changed
/// otherwise is updated, and one no longer found is cleared; each a <c>conflict_risk</c> event, in one change. Found the
/// same as open, nothing is written.
/// </summary>
public static class ApplyConflictRisks
{
    internal sealed record Command(IReadOnlyList<FoundRisk> Found, IReadOnlyDictionary<long, string> Owners) : IRequest;

    internal sealed class Handler(IDb db, IMediator mediator) : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            List<ConflictRisk> open;
            using (var connection = db.Open()) open = RiskRows.Open(connection, null);
            var same = open.Count == command.Found.Count && command.Found.All(f => open.Any(o => Same(o, f)));
            if (!same) await mediator.Send(new Save(command.Found, command.Owners), cancellationToken);
            return Unit.Value;
        }
    }

    internal static bool Same(ConflictRisk open, FoundRisk found) =>
        open.TicketA == found.A && open.TicketB == found.B && open.Level == found.Level && open.Reason == found.Reason && open.Files.SequenceEqual(found.Files);

    internal sealed record Save(IReadOnlyList<FoundRisk> Found, IReadOnlyDictionary<long, string> Owners) : IRequest, IChangesState;

    internal sealed class SaveHandler(StateChanges changes, IMediator mediator, IAgentDirectory agents, TimeProvider clock) : IRequestHandler<Save>
    {
        public async Task<Unit> Handle(Save save, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var open = RiskRows.Open(change.Connection, change.Transaction);
            foreach (var risk in open.Where(o => !save.Found.Any(f => f.A == o.TicketA && f.B == o.TicketB)))
            {
                change.Execute("UPDATE conflict_risks SET cleared_at = @now, updated_at = @now WHERE id = @Id", new { now, risk.Id });
                change.Raise(new ConflictRiskChanged(RiskRows.Get(change, risk.Id)));
            }
            var drafts = new List<AppendMessages.Draft>();
            foreach (var found in save.Found)
            {
                var was = open.FirstOrDefault(o => o.TicketA == found.A && o.TicketB == found.B);
                if (was is not null && Same(was, found)) continue;
                var files = JsonSerializer.Serialize(found.Files, HiveJson.Options);
                long id;
                if (was is null)
                    id = change.QuerySingle<long>("""
                        INSERT INTO conflict_risks (ticket_a, ticket_b, level, reason, files, raised_at, updated_at) VALUES (@A, @B, @Level, @Reason, @files, @now, @now)
                        RETURNING id
                        """, new { found.A, found.B, found.Level, found.Reason, files, now });
                else
                {
                    id = was.Id;
                    change.Execute("UPDATE conflict_risks SET level = @Level, reason = @Reason, files = @files, updated_at = @now WHERE id = @id",
                        new { found.Level, found.Reason, files, now, id });
                }
                change.Raise(new ConflictRiskChanged(RiskRows.Get(change, id)));
                if (was is null || (was.Level != ConflictRisk.Danger && found.Level == ConflictRisk.Danger))
                    drafts.AddRange(Tell(found, id, save.Owners));
            }
            drafts = drafts.Where(d => agents.IsAgent(d.To)).ToList();
            if (drafts.Count > 0) await mediator.Send(new AppendMessages.Command(drafts), CancellationToken.None);
            return Unit.Value;
        }

        /// <summary>One message to each ticket's owner, naming the other ticket, its owner and the files.</summary>
        private static IEnumerable<AppendMessages.Draft> Tell(FoundRisk risk, long id, IReadOnlyDictionary<long, string> owners)
        {
            var what = risk.Reason switch
            {
                ConflictRisk.SameLines => "change the same lines of",
                ConflictRisk.Lease => "meet at a lease on",
                _ => "change the same file",
            };
            foreach (var (mine, other) in new[] { (risk.A, risk.B), (risk.B, risk.A) })
            {
                if (!owners.TryGetValue(mine, out var owner)) continue;
                var them = owners.GetValueOrDefault(other, "another agent");
                yield return new AppendMessages.Draft(AgentNames.Hive, owner, ConflictRiskChanged.Kind,
                    $"Conflict risk ({risk.Level}): your ticket #{mine} and ticket #{other} ({them}'s) {what}: {string.Join(", ", risk.Files)}. " +
                    $"Agree with {them} who edits what (send), or take a lease on it (lease_acquire) before you go on.",
                    new Dictionary<string, object?>
                    {
                        ["risk_id"] = id, ["ticket_id"] = mine, ["other_ticket_id"] = other, ["other_owner"] = them, ["level"] = risk.Level,
                        ["reason"] = risk.Reason, ["files"] = risk.Files,
                    });
            }
        }
    }
}

/// <summary>A conflict risk raised, changed or cleared.</summary>
public sealed record ConflictRiskChanged(ConflictRisk Risk) : IDashboardEvent<ConflictRiskPayload>
{
    public const string Kind = "conflict_risk";

    public string EventType => Kind;
    public ConflictRiskPayload Payload => new(Risk);
}

/// <summary>The conflict risks open now (<c>GET /api/conflict-risks</c>, the snapshot's <c>work.risks</c>).</summary>
public static class ListConflictRisks
{
    public sealed record Query : IRequest<IReadOnlyList<ConflictRisk>>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<ConflictRisk>>
    {
        public Task<IReadOnlyList<ConflictRisk>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            return Task.FromResult<IReadOnlyList<ConflictRisk>>(RiskRows.Open(connection, null));
        }
    }
}

/// <summary>The <c>conflict_risks</c> table as the radar, the snapshot and the API read it.</summary>
internal static class RiskRows
{
    private const string Columns = "id, ticket_a, ticket_b, level, reason, files, raised_at, updated_at, cleared_at";

    private sealed record Row(long Id, long TicketA, long TicketB, string Level, string Reason, string Files, DateTimeOffset RaisedAt, DateTimeOffset UpdatedAt,
        DateTimeOffset? ClearedAt)
    {
        public ConflictRisk View() => new(Id, TicketA, TicketB, Level, Reason, JsonSerializer.Deserialize<List<string>>(Files, HiveJson.Options) ?? [], RaisedAt, UpdatedAt,
            ClearedAt);
    }

    public static List<ConflictRisk> Open(Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction? transaction) =>
        connection.Query<Row>($"SELECT {Columns} FROM conflict_risks WHERE cleared_at IS NULL ORDER BY ticket_a, ticket_b", transaction: transaction)
            .Select(r => r.View()).ToList();

    public static ConflictRisk Get(StateChange change, long id) =>
        change.Query<Row>($"SELECT {Columns} FROM conflict_risks WHERE id = @id", new { id }).Single().View();
}
