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

/// <summary>When an agent's refusal for a host was last told (<c>egress_refused</c>): at most once a minute for each.</summary>
internal sealed class RefusalThrottle
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);
    private readonly Hive.Shared.Limits.OncePer<(string Agent, string Host)> _told = new(Interval);

    public bool ShouldTell(string agent, string host, DateTimeOffset at) => _told.Due((agent, host), at);
}
