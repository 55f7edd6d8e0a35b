using System.Data;
using System.Text.Json.Serialization;
using Dapper;

namespace Hive.Features.TurnStats;

/// <summary>
/// An agent's turn figures on its row (<c>/api/state</c> <c>agents[]</c>) and in <c>turn_recorded</c>: the last 24 hours
/// by the host's clock (turns, tokens of every kind, and the same per hour, oldest hour first, for the sparkline: the last
/// entry is the hour up to <see cref="AggregatedAt"/>) and its newest turn. The hours are counted back from
/// <see cref="AggregatedAt"/>, so a page that shows them later shifts them by the whole hours gone since (and drops what
/// fell out of the window) instead of waiting for the next turn or a reload.
/// </summary>
public sealed record TurnAggregates(
    [property: JsonPropertyName("turns_24h")] long Turns24h,
    [property: JsonPropertyName("tokens_24h")] long Tokens24h,
    DateTimeOffset? LastTurnAt,
    string? LastResult,
    IReadOnlyList<long> TokensByHour,
    IReadOnlyList<long> TurnsByHour,
    DateTimeOffset? AggregatedAt)
{
    public const int Hours = 24;

    public static TurnAggregates None { get; } = new(0, 0, null, null, new long[Hours], new long[Hours], null);

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
        var args = new { Agent = agent, Now = now, Since = now.AddHours(-Hours) };
        var (tokensByHour, turnsByHour) = (new long[Hours], new long[Hours]);
        long turns = 0, tokens = 0;
        foreach (var (hoursAgo, count, sum) in connection.Query<(long HoursAgo, long Turns, long Tokens)>(window, args, transaction))
        {
            turns += count;
            tokens += sum;
            var hour = Hours - 1 - Math.Clamp(hoursAgo, 0, Hours - 1);
            tokensByHour[hour] += sum;
            turnsByHour[hour] += count;
        }
        var newest = connection.Query<LastTurn>(last, args, transaction).ToList();
        return newest.Count == 0
            ? new TurnAggregates(turns, tokens, null, null, tokensByHour, turnsByHour, now)
            : new TurnAggregates(turns, tokens, newest[0].At, newest[0].Result, tokensByHour, turnsByHour, now);
    }

    internal sealed record LastTurn(DateTimeOffset At, string Result);
}
