using System.Diagnostics.Metrics;
using Hive.Features.Egress.Record;
using Hive.Shared.Metrics;

namespace Hive.Features.Egress;

/// <summary>
/// The egress proxies' connections by decision (allowed, refused, failed), and the bytes through them by direction
/// (<c>out</c>: agent to the target; <c>in</c>: back). Not by agent or host: a host is whatever an agent asks for, so
/// unbounded; <c>GET /api/agents/{name}/net</c> and the audit log have the detail. Every series starts at 0.
/// </summary>
public sealed class EgressMetrics : HiveMetrics
{
    private readonly Counter<long> _connections;
    private readonly Counter<long> _bytes;

    public EgressMetrics(IMeterFactory meters) : base(meters, "Egress")
    {
        _connections = Meter.CreateCounter<long>("hive_egress_connections_total",
            description: "Connections agents asked their egress proxy for, by decision (allowed, refused, failed: allowed but the target did not answer).");
        _bytes = Meter.CreateCounter<long>("hive_egress_bytes_total", "By",
            "Bytes through the egress proxies, by direction (out: agent to target; in: target to agent).");
        foreach (var decision in EgressDecisions.All) _connections.Add(0, new KeyValuePair<string, object?>("decision", decision));
        _bytes.Add(0, new KeyValuePair<string, object?>("direction", "out"));
        _bytes.Add(0, new KeyValuePair<string, object?>("direction", "in"));
    }

    internal void Ended(EgressAttempt attempt)
    {
        _connections.Add(1, new KeyValuePair<string, object?>("decision", attempt.Decision));
        if (attempt.BytesOut > 0) _bytes.Add(attempt.BytesOut, new KeyValuePair<string, object?>("direction", "out"));
        if (attempt.BytesIn > 0) _bytes.Add(attempt.BytesIn, new KeyValuePair<string, object?>("direction", "in"));
    }
}
