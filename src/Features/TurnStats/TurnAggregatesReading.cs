using System.Data;
using Dapper;
using Hive.Contracts.TurnStats;

namespace Hive.Features.TurnStats;

/// <summary>How the slice reads an agent's <see cref="TurnAggregates"/> from <c>turns</c>.</summary>
internal static class TurnAggregatesReading
{
    extension(TurnAggregates)
    {
        /// <summary>
        /// Reads one agent's figures: two index range lookups (<c>turns_agent_recorded</c>), whatever the table holds.
        /// Inside a change, pass its transaction so the row just written counts.
        /// </summary>
        internal static TurnAggregates Read(IDbConnection connection, IDbTransaction? transaction, string agent, DateTimeOffset now)
        {
            // hours_ago = whole hours between the turn and now: 0 is the last hour, 23 the oldest one still in the window.
            const string window = """
                SELECT CAST((julianday(@Now) - julianday(recorded_at)) * 24 AS INTEGER) AS hours_ago,
                       count(*) AS turns,
                       sum(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens) AS tokens
                FROM turns
                WHERE agent = @Agent AND recorded_at > @Since AND recorded_at <= @Now
                GROUP BY hours_ago;
                """;
            const string last = """
                SELECT ended_at AS at, result_kind AS result FROM turns
                WHERE agent = @Agent
                ORDER BY recorded_at DESC, id DESC
                LIMIT 1;
                """;
            var args = new { Agent = agent, Now = now, Since = now.AddHours(-TurnAggregates.Hours) };
            var (tokensByHour, turnsByHour) = (new long[TurnAggregates.Hours], new long[TurnAggregates.Hours]);
            long turns = 0, tokens = 0;
            foreach (var (hoursAgo, count, sum) in connection.Query<(long HoursAgo, long Turns, long Tokens)>(window, args, transaction))
            {
                turns += count;
                tokens += sum;
                var hour = TurnAggregates.Hours - 1 - Math.Clamp(hoursAgo, 0, TurnAggregates.Hours - 1);
                tokensByHour[hour] += sum;
                turnsByHour[hour] += count;
            }
            var newest = connection.Query<LastTurn>(last, args, transaction).ToList();
            return newest.Count == 0
                ? new TurnAggregates(turns, tokens, null, null, tokensByHour, turnsByHour, now)
                : new TurnAggregates(turns, tokens, newest[0].At, newest[0].Result, tokensByHour, turnsByHour, now);
        }
    }

    internal sealed record LastTurn(DateTimeOffset At, string Result);
}
