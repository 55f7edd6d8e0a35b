using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Egress.Record;

/// <summary>
/// An attempt's row in <c>egress_attempts</c> and, for a refusal, the dashboard's <c>egress_refused</c>, at most once per
/// agent and host per <see cref="RefusalThrottle.Interval"/> (an agent retrying in a loop is one line, not a flood).
/// </summary>
internal static class RecordAttempt
{
    public sealed record Command(EgressAttempt Attempt) : IRequest<long>, IChangesState;

    internal sealed class Handler(StateChanges changes, RefusalThrottle throttle) : IRequestHandler<Command, long>
    {
        public Task<long> Handle(Command command, CancellationToken cancellationToken)
        {
            var a = command.Attempt;
            var change = changes.Current;
            var id = change.QuerySingle<long>("""
                INSERT INTO egress_attempts (agent, host, port, method, address, decision, status, reason, bytes_out, bytes_in, duration_ms, started_at)
                VALUES (@Agent, @Host, @Port, @Method, @Address, @Decision, @Status, @Reason, @BytesOut, @BytesIn, @DurationMs, @StartedAt)
                RETURNING id
                """, new { a.Agent, a.Host, a.Port, a.Method, a.Address, a.Decision, a.Status, a.Reason, a.BytesOut, a.BytesIn, a.DurationMs, a.StartedAt });
            if (a.Decision != EgressDecisions.Allowed && throttle.ShouldTell(a.Agent, a.Host, a.StartedAt))
                change.Raise(new EgressRefused(id, a.Agent, a.Host, a.Port, a.Address, a.Status, a.Reason ?? "", a.StartedAt));
            return Task.FromResult(id);
        }
    }
}

/// <summary>When an agent's refusal for a host was last told; not stored, so a restart may tell one more.</summary>
internal sealed class RefusalThrottle
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);
    private readonly Dictionary<(string Agent, string Host), DateTimeOffset> _told = [];
    private readonly Lock _lock = new();

    public bool ShouldTell(string agent, string host, DateTimeOffset at)
    {
        lock (_lock)
        {
            if (_told.TryGetValue((agent, host), out var last) && at - last < Interval) return false;
            if (_told.Count > 10_000) foreach (var old in _told.Where(t => at - t.Value >= Interval).Select(t => t.Key).ToList()) _told.Remove(old);
            _told[(agent, host)] = at;
            return true;
        }
    }
}
