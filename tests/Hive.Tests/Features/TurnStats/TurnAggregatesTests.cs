using Hive.Contracts.Json;
using Hive.Contracts.TurnStats;
using Hive.Features.TurnStats;

namespace Hive.Tests.Features.TurnStats;

/// <summary>The turn figures on an agent's row: the last 24 hours by the host's clock, and the newest turn.</summary>
[Collection(TurnStatsHive.Name)]
public sealed class TurnAggregatesTests(TurnStatsHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task An_agent_without_turns_has_zeros_and_no_last_turn()
    {
        var name = await _hive.NewAgentAsync("quiet");
        var row = await fixture.RowAsync(name);
        // Zeros and nulls, raw: the record reads a missing figure as zero or null too.
        Assert.Equal(0, row.GetProperty("turns_24h").GetInt64());
        Assert.Equal(0, row.GetProperty("tokens_24h").GetInt64());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("last_turn_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, row.GetProperty("last_result").ValueKind);
        Assert.Equal(Enumerable.Repeat(0L, 24), Hours(row));
    }

    [Fact]
    public async Task An_agent_without_turns_has_stats_of_empty_buckets()
    {
        var name = await _hive.NewAgentAsync("no-turns");
        using var response = await _hive.Http.GetAsync($"/api/agents/{name}/stats");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        Assert.Equal([("1h", 12), ("24h", 24), ("7d", 28), ("30d", 30)],
            JsonSerializer.Deserialize<List<StatsWindow>>(text, HiveJson.Options)!.Select(w => (w.Window, w.Buckets.Count)));
        // Zeros and nulls, raw: the record reads a missing figure as zero or null too.
        var windows = JsonDocument.Parse(text).RootElement.EnumerateArray().ToList();
        Assert.All(windows, w =>
        {
            Assert.Equal(0, w.GetProperty("total").GetProperty("turns").GetInt64());
            Assert.Equal(JsonValueKind.Null, w.GetProperty("total").GetProperty("cost_usd").ValueKind);
            Assert.All(w.GetProperty("buckets").EnumerateArray(), b => Assert.Equal(0, b.GetProperty("tokens").GetInt64()));
        });
    }

    [Fact]
    public async Task Counts_the_last_24_hours_only_and_puts_each_turn_in_its_hour()
    {
        var name = await _hive.NewAgentAsync("counted");
        var now = DateTimeOffset.UtcNow;
        fixture.InsertTurn(name, now.AddHours(-25), 1_000_000);          // outside the window: in no figure
        fixture.InsertTurn(name, now.AddHours(-24).AddMinutes(-1), 500_000);
        fixture.InsertTurn(name, now.AddHours(-23).AddMinutes(-30), 4000); // the oldest hour
        fixture.InsertTurn(name, now.AddHours(-5).AddMinutes(-30), 2000);  // five hours ago
        await using var agent = await _hive.ConnectAsync(name);
        await TurnStatsHive.RecordAsync(agent, TurnStatsHive.Turn(input: 700, output: 300, extra: new { result_kind = "prompt_too_long" }));

        var row = Figures(await fixture.RowAsync(name));
        Assert.Equal(3, row.Turns24h);
        Assert.Equal(4000 + 2000 + 1000, row.Tokens24h);
        Assert.Equal("prompt_too_long", row.LastResult);
        var lastAt = row.LastTurnAt!.Value;
        Assert.InRange(lastAt, now.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        var hours = row.TokensByHour;
        Assert.Equal(24, hours.Count);
        Assert.Equal(4000, hours[0]);
        Assert.Equal(2000, hours[23 - 5]);
        Assert.Equal(1000, hours[23]);
        Assert.Equal(7000, hours.Sum());
    }

    [Fact]
    public async Task The_last_turn_is_the_newest_recorded_even_when_an_older_row_has_a_higher_id()
    {
        var name = await _hive.NewAgentAsync("ordered");
        await using var agent = await _hive.ConnectAsync(name);
        await TurnStatsHive.RecordAsync(agent, TurnStatsHive.Turn());
        fixture.InsertTurn(name, DateTimeOffset.UtcNow.AddDays(-2), 5, result: "failed");
        var row = Figures(await fixture.RowAsync(name));
        Assert.Equal("ok", row.LastResult);
        Assert.Equal(1, row.Turns24h);
    }

    /// <summary>The row's turn figures: an agent row has no record of its own, its turn fields do.</summary>
    private static TurnAggregates Figures(JsonElement row) => row.Deserialize<TurnAggregates>(HiveJson.Options)!;

    private static List<long> Hours(JsonElement row) =>
        row.GetProperty("tokens_by_hour").EnumerateArray().Select(x => x.GetInt64()).ToList();
}
