using Dapper;
using FluentValidation;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// An agent's turns over four windows for its page's charts (<c>GET /api/agents/{name}/stats</c>): the last hour in 12
/// buckets of 5 minutes, 24 hours in hourly ones, 7 days in 6-hour ones, 30 days in daily ones; each bucket and each
/// window's total counts turns, tokens (all four kinds), cost (USD, of the turns that reported one) and tool calls.
/// By the host's clock (<c>recorded_at</c>), oldest bucket first; what retention removed is gone from them too.
/// </summary>
public static class AgentStats
{
    public sealed record Query(string Agent) : IRequest<IReadOnlyList<StatsWindow>>;

    /// <summary>The windows: a name, its length, how many buckets.</summary>
    public static readonly IReadOnlyList<(string Name, TimeSpan Length, int Buckets)> Windows =
    [
        ("1h", TimeSpan.FromHours(1), 12), ("24h", TimeSpan.FromHours(24), 24), ("7d", TimeSpan.FromDays(7), 28), ("30d", TimeSpan.FromDays(30), 30),
    ];

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(IAgentDirectory agents) =>
            RuleFor(q => q.Agent).Must(agents.IsAgent)
                .WithMessage(q => $"no agent named {(q.Agent.Length <= 40 ? q.Agent : q.Agent[..40] + "…")}").WithErrorCode(ErrorCodes.NotFound);
    }

    internal sealed class Handler(IDb db, TimeProvider clock) : IRequestHandler<Query, IReadOnlyList<StatsWindow>>
    {
        public Task<IReadOnlyList<StatsWindow>> Handle(Query query, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            using var connection = db.Open();
            var windows = new List<StatsWindow>();
            foreach (var (name, length, count) in Windows)
            {
                var from = now - length;
                var width = length / count;
                // The bucket of each turn: whole widths since the window's start (the last one ends now).
                var rows = connection.Query<BucketRow>("""
                    SELECT CAST((julianday(recorded_at) - julianday(@from)) * 86400.0 / @seconds AS INTEGER) AS bucket,
                           count(*) AS turns,
                           sum(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens) AS tokens,
                           sum(cost_usd) AS cost_usd,
                           sum(tool_call_count) AS tool_calls
                    FROM turns WHERE agent = @Agent AND recorded_at > @from AND recorded_at <= @now
                    GROUP BY bucket
                    """, new { query.Agent, from, now, seconds = width.TotalSeconds }).ToDictionary(r => Math.Clamp((int)r.Bucket, 0, count - 1));
                var buckets = Enumerable.Range(0, count).Select(i => rows.TryGetValue(i, out var r)
                    ? new StatsBucket(from + width * i, r.Turns, r.Tokens, r.CostUsd, r.ToolCalls)
                    : new StatsBucket(from + width * i, 0, 0, null, 0)).ToList();
                windows.Add(new StatsWindow(name, from, width.TotalSeconds, buckets,
                    new StatsBucket(from, buckets.Sum(b => b.Turns), buckets.Sum(b => b.Tokens),
                        buckets.Any(b => b.CostUsd is not null) ? Math.Round(buckets.Sum(b => b.CostUsd ?? 0), 6) : null, buckets.Sum(b => b.ToolCalls))));
            }
            return Task.FromResult<IReadOnlyList<StatsWindow>>(windows);
        }
    }

    /// <summary>
    /// Settable properties, not a positional record: with no row SQLite reports every column as a blob, for which Dapper
    /// finds no matching constructor.
    /// </summary>
    private sealed class BucketRow
    {
        public long Bucket { get; set; }
        public long Turns { get; set; }
        public long Tokens { get; set; }
        public double? CostUsd { get; set; }
        public long ToolCalls { get; set; }
    }
}

/// <summary>One window of an agent's stats: its buckets oldest first (each <c>bucket_seconds</c> long) and its total.</summary>
public sealed record StatsWindow(string Window, DateTimeOffset From, double BucketSeconds, IReadOnlyList<StatsBucket> Buckets, StatsBucket Total);

public sealed record StatsBucket(DateTimeOffset At, long Turns, long Tokens, double? CostUsd, long ToolCalls);
