using Hive.Contracts.Json;
using Hive.Features.TurnStats;

namespace Hive.Tests.Features.TurnStats;

/// <summary>
/// The one hive the TurnStats slice tests share: 10-day retention swept every 0.3 s, so the sweep's tests wait on ticks,
/// not on a clock. Each test works with agents and turns of its own.
/// </summary>
public sealed class TurnStatsHive : HiveFixture
{
    public const string Name = "TurnStats";
    public const int RetainDays = 10;

    protected override string[] Args =>
        ["--Hive:TurnStats:RetainDays", RetainDays.ToString(), "--Hive:TurnStats:RetentionSweepMinutes", "0.005"];

    public long SweepTicks => Hive.Service<TurnRetention>().CompletedTicks;

    public async Task WaitSweepsAsync(int count)
    {
        var target = SweepTicks + count;
        await HiveInstance.Until(() => SweepTicks >= target, TimeSpan.FromSeconds(count * 2 + 10), $"{count} retention sweeps");
    }

    /// <summary>A well-formed turn that ended just now; <paramref name="extra"/> adds or overrides fields.</summary>
    public static Dictionary<string, object?> Turn(long input = 100, long output = 20, object? extra = null)
    {
        var now = DateTimeOffset.UtcNow;
        var turn = new Dictionary<string, object?>
        {
            ["op"] = "record_turn",
            ["model"] = "claude-test",
            ["wake_from"] = "message",
            ["result_kind"] = "ok",
            ["started_at"] = UtcTimestamp.Format(now.AddSeconds(-3)),
            ["ended_at"] = UtcTimestamp.Format(now),
            ["duration_ms"] = 3000,
            ["input_tokens"] = input,
            ["output_tokens"] = output,
            ["cache_read_tokens"] = 0,
            ["cache_creation_tokens"] = 0,
            ["tool_call_count"] = 3,
            ["tools"] = new Dictionary<string, long> { ["Bash"] = 2, ["Read"] = 1 },
            ["open_threads_count"] = 1,
            ["open_reminders_count"] = 0,
            ["note"] = null,
        };
        if (extra is not null)
            foreach (var property in JsonSerializer.SerializeToElement(extra).EnumerateObject())
                turn[property.Name] = property.Value;
        return turn;
    }

    /// <summary>
    /// Records <paramref name="request"/> as a turn the hive granted this agent (a turn is recorded only as the turn it was
    /// granted): a turn is begun on the agent's connection first, unless the request names one.
    /// </summary>
    public static async Task<long> RecordAsync(AgentClient agent, object request)
    {
        var fields = request as Dictionary<string, object?>
            ?? JsonSerializer.SerializeToElement(request).EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        if (!fields.ContainsKey("turn_id"))
        {
            var begun = await agent.CallAsync(new { op = "begin_turn", wait_ms = 10_000 });
            Assert.True(begun.GetProperty("ok").GetBoolean() && begun.TryGetProperty("turn_id", out _), begun.ToString());
            fields = new Dictionary<string, object?>(fields) { ["turn_id"] = begun.GetProperty("turn_id").GetInt64() };
        }
        var reply = await agent.CallAsync(fields);
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        return reply.GetProperty("id").GetInt64();
    }

    /// <summary>
    /// Inserts a turn straight into the database, recorded at <paramref name="recordedAt"/>; returns its id. The time goes
    /// in as a Dapper parameter, so it is stored in exactly the text form the host's own writes use.
    /// </summary>
    public long InsertTurn(string agent, DateTimeOffset recordedAt, long inputTokens, string result = "ok") =>
        Hive.QueryDb<long>("""
            INSERT INTO turns (agent, recorded_at, model, wake_from, result_kind, started_at, ended_at, duration_ms,
                input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, tool_call_count, tools)
            VALUES (@agent, @at, 'old-model', NULL, @result, @at, @at, 0, @inputTokens, 0, 0, 0, 0, '{}')
            RETURNING id
            """, new { agent, at = recordedAt, inputTokens, result });

    /// <summary>The agent's row as <c>/api/state</c> has it.</summary>
    public async Task<JsonElement> RowAsync(string agent)
    {
        var state = await Hive.GetJsonAsync("/api/state");
        return state.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == agent);
    }
}

[CollectionDefinition(TurnStatsHive.Name)]
public sealed class TurnStatsCollection : ICollectionFixture<TurnStatsHive>;
