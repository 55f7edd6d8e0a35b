using Dapper;
using Hive.Contracts.Constellation;
using Hive.Shared.Changes;
using Hive.Shared.Data;

namespace Hive.Features.Constellation;

/// <summary>
/// Reads what the views are made of: this hive's status (the outbox, dead letters, links) and the hives heard from. Holds
/// the two figures no table keeps: the inbox lag the heartbeat last measured, and whether the outbox alert is raised.
/// </summary>
internal sealed class ConstellationState(ConstellationOptions options, IDb db, BrokerLink broker)
{
    public const int DeadLettersShown = 20;

    public long? InboxLag { get; set; }
    public bool OutboxAlert { get; set; }

    /// <summary>The status the watch last looked at (for the metrics).</summary>
    public ConstellationStatus? Last { get; set; }

    public async Task<ConstellationStatus> StatusAsync(CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        var outbox = await connection.QuerySingleAsync<(long Depth, string? Oldest)>(new CommandDefinition(
            "SELECT count(*), min(created_at) FROM constellation_outbox WHERE sent_at IS NULL", cancellationToken: cancellationToken));
        var deadLetters = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM constellation_dead_letters", cancellationToken: cancellationToken));
        return new ConstellationStatus(outbox.Depth, outbox.Oldest is null ? null : DateTimeOffset.Parse(outbox.Oldest, System.Globalization.CultureInfo.InvariantCulture),
            OutboxAlert, deadLetters, InboxLag, new SortedDictionary<string, DateTimeOffset?>(broker.Links.ToDictionary(), StringComparer.Ordinal));
    }

    /// <summary>
    /// Per hive heard from: the last number given to mail for it and the lowest still unsent, read in one statement (one
    /// snapshot); null when more than <paramref name="most"/> hives were ever sent to and heard from.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, OutboundMail>?> OutboundAsync(int most, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        var rows = (await connection.QueryAsync<(string Destination, long Assigned, long? Unsent)>(new CommandDefinition("""
            SELECT s.destination, s.last_seq,
                   (SELECT min(o.seq) FROM constellation_outbox o WHERE o.sent_at IS NULL AND o.destination = s.destination)
            FROM constellation_outbound_sequences s
            WHERE s.destination IN (SELECT name FROM constellation_hives)
            ORDER BY s.destination LIMIT @limit
            """, new { limit = most + 1 }, cancellationToken: cancellationToken))).AsList();
        return rows.Count > most ? null : rows.ToDictionary(r => r.Destination, r => new OutboundMail(r.Assigned, r.Unsent), StringComparer.Ordinal);
    }

    /// <summary>Per sending hive this one holds mail from ahead of a gap, the numbers missing (at most <paramref name="most"/> hives).</summary>
    public async Task<IReadOnlyDictionary<string, MissingMail>?> MissingAsync(int most, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        var rows = (await connection.QueryAsync<(string FromHive, long From, long Through)>(new CommandDefinition("""
            SELECT h.from_hive, coalesce(s.next_seq, 1), min(h.seq) - 1
            FROM constellation_held h LEFT JOIN constellation_inbound_sequences s ON s.from_hive = h.from_hive
            GROUP BY h.from_hive ORDER BY h.from_hive LIMIT @most
            """, new { most }, cancellationToken: cancellationToken))).Where(r => r.Through >= r.From).ToList();
        return rows.Count == 0 ? null : rows.ToDictionary(r => r.FromHive, r => new MissingMail(r.From, r.Through), StringComparer.Ordinal);
    }

    public async Task<ConstellationView> ViewAsync(CancellationToken cancellationToken)
    {
        var status = await StatusAsync(cancellationToken);
        using var connection = db.Open();
        var hives = (await connection.QueryAsync<HiveRow>(new CommandDefinition(
            $"SELECT {HiveRow.Columns} FROM constellation_hives ORDER BY name", cancellationToken: cancellationToken))).Select(ToView).ToList();
        var deadLetters = (await connection.QueryAsync<DeadLetterView>(new CommandDefinition(
            "SELECT id, global_id, user_id, routing_key, reason, received_at FROM constellation_dead_letters ORDER BY id DESC LIMIT @DeadLettersShown",
            new { DeadLettersShown }, cancellationToken: cancellationToken))).AsList();
        return new ConstellationView(true, options.Name, PublicUrlOf(options), options.HeartbeatSeconds, status, hives, deadLetters);
    }

    /// <summary>Hives whose last beat is older than 3 of their own intervals (and a second of slack) and still marked reachable.</summary>
    public async Task<List<HiveView>> GoneQuietAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        return (await connection.QueryAsync<HiveRow>(new CommandDefinition(
                $"SELECT {HiveRow.Columns} FROM constellation_hives WHERE reachable = 1", cancellationToken: cancellationToken)))
            .Where(r => r.LastHeardAt + TimeSpan.FromSeconds(3 * r.HeartbeatSeconds + 1) < now)
            .Select(ToView).ToList();
    }

    public HiveView? Find(StateChange change, string name) =>
        change.QuerySingleOrDefault<HiveRow>($"SELECT {HiveRow.Columns} FROM constellation_hives WHERE name = @name", new { name }) is { } row
            ? ToView(row)
            : null;

    /// <summary><c>Hive:PublicUrl</c>, the address the operator's browser reaches this hive's dashboard at, when it is a link.</summary>
    public static string? PublicUrlOf(ConstellationOptions options) => Heartbeat.IsDashboardLink(options.DashboardUrl) ? options.DashboardUrl : null;

    private HiveView ToView(HiveRow row)
    {
        var beat = Heartbeat.Parse(System.Text.Encoding.UTF8.GetBytes(row.Beat));
        return new HiveView(row.Name, row.Name == options.Name, row.Reachable, row.PublicUrl, row.HeartbeatSeconds, row.FirstHeardAt, row.LastHeardAt,
            beat?.Agents ?? 0, beat?.States ?? new Dictionary<string, int>(), beat?.OutboxDepth ?? 0, beat?.InboxLag, beat?.DeadLetters ?? 0);
    }

    internal sealed class HiveRow
    {
        public const string Columns = "name, public_url, heartbeat_seconds, beat, first_heard_at, last_heard_at, reachable";
        public string Name { get; set; } = "";
        public string? PublicUrl { get; set; }
        public double HeartbeatSeconds { get; set; }
        public string Beat { get; set; } = "{}";
        public DateTimeOffset FirstHeardAt { get; set; }
        public DateTimeOffset LastHeardAt { get; set; }
        public bool Reachable { get; set; }
    }
}
