using Hive.Contracts.Json;
using Hive.Features.TurnStats;

namespace Hive.Tests.Features.TurnStats;

/// <summary>RecordTurn: the record_turn verb stores one row per turn, announces it, and refuses a bad row whole.</summary>
[Collection(TurnStatsHive.Name)]
public sealed class RecordTurnTests(TurnStatsHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Records_a_turn_as_the_socket_agent_and_announces_it_with_the_new_figures()
    {
        var name = await _hive.NewAgentAsync("turner");
        await using var events = await _hive.OpenEventsAsync();
        await using var agent = await _hive.ConnectAsync(name);

        var id = await TurnStatsHive.RecordAsync(agent, TurnStatsHive.Turn(input: 1200, output: 300, extra: new
        {
            cache_read_tokens = 50, cache_creation_tokens = 7, note = "all good", agent = "someone-else",
        }));

        var stored = _hive.QueryDb<(string Agent, string Model, string Result, long Input, long CacheCreation, string Tools, string Note)>(
            "SELECT agent, model, result_kind, input_tokens, cache_creation_tokens, tools, note FROM turns WHERE id = @id", new { id });
        Assert.Equal((name, "claude-test", "ok", 1200L, 7L), (stored.Agent, stored.Model, stored.Result, stored.Input, stored.CacheCreation));
        Assert.Equal("all good", stored.Note);
        Assert.Equal(2, JsonDocument.Parse(stored.Tools).RootElement.GetProperty("Bash").GetInt64());

        var e = (await events.WaitForAsync("turn_recorded", j => j.GetProperty("agent").GetString() == name)).Json;
        Assert.Equal(id, e.GetProperty("turn").GetProperty("id").GetInt64());
        Assert.Equal(1, e.GetProperty("turn").GetProperty("tools").GetProperty("Read").GetInt64());
        Assert.Equal(1, e.GetProperty("turns_24h").GetInt64());
        Assert.Equal(1200 + 300 + 50 + 7, e.GetProperty("tokens_24h").GetInt64());
        Assert.Equal("ok", e.GetProperty("last_result").GetString());
        var byHour = e.GetProperty("tokens_by_hour").EnumerateArray().Select(x => x.GetInt64()).ToList();
        Assert.Equal(24, byHour.Count);
        Assert.Equal(1557, byHour[^1]);
        Assert.Equal(0, byHour.Take(23).Sum());
    }

    [Fact]
    public async Task Optional_fields_take_their_defaults()
    {
        var name = await _hive.NewAgentAsync("turner");
        await using var agent = await _hive.ConnectAsync(name);
        var start = DateTimeOffset.UtcNow;
        var id = await TurnStatsHive.RecordAsync(agent, new
        {
            op = "record_turn", result_kind = "failed",
            started_at = UtcTimestamp.Format(start), ended_at = UtcTimestamp.Format(start.AddMilliseconds(2500)),
            tools = new Dictionary<string, long> { ["Bash"] = 4, ["Edit"] = 1 },
            note = "exit code 1",
        });
        var row = _hive.QueryDb<(long Duration, long Input, long ToolCalls, string? Model, long? Threads)>(
            "SELECT duration_ms, input_tokens, tool_call_count, model, open_threads_count FROM turns WHERE id = @id", new { id });
        Assert.Equal((2500L, 0L, 5L, (string?)null, (long?)null), row);
    }

    /// <summary>Each bad row: the reply's code, and nothing stored for the agent.</summary>
    public static TheoryData<string, string> BadTurns => new()
    {
        { """{"result_kind":"maybe"}""", "validation" },
        { """{"result_kind":null}""", "validation" },
        { """{"started_at":null}""", "validation" },
        { """{"ended_at":null}""", "validation" },
        { """{"started_at":"2026-01-01T10:00:05.000Z","ended_at":"2026-01-01T10:00:00.000Z"}""", "validation" },
        { """{"ended_at":"2999-01-01T00:00:00.000Z"}""", "validation" },
        { """{"started_at":"2001-01-01T00:00:00.000Z"}""", "validation" },
        { """{"input_tokens":-1}""", "validation" },
        { """{"output_tokens":-5}""", "validation" },
        { """{"cache_read_tokens":2000000000}""", "validation" },
        { """{"cache_creation_tokens":-1}""", "validation" },
        { """{"duration_ms":-1}""", "validation" },
        { """{"duration_ms":999999999999}""", "validation" },
        { """{"tool_call_count":-1}""", "validation" },
        { """{"open_threads_count":-1}""", "validation" },
        { """{"open_reminders_count":-2}""", "validation" },
        { """{"tools":{"Bash":-1}}""", "validation" },
        { """{"tools":{"":1}}""", "validation" },
        { """{"tools":{"LONG_TOOL":1}}""", "validation" },
        { """{"tools":MANY_TOOLS}""", "validation" },
        { """{"note":"LONG_NOTE"}""", "validation" },
        { """{"model":"LONG_MODEL"}""", "validation" },
        { """{"input_tokens":"many"}""", "bad_request" },
        { """{"input_tokens":1.5}""", "bad_request" },
        { """{"tools":["Bash"]}""", "bad_request" },
        { """{"started_at":"yesterday"}""", "bad_request" },
    };

    [Theory]
    [MemberData(nameof(BadTurns))]
    public async Task A_bad_turn_gets_an_error_and_stores_nothing(string fields, string code)
    {
        var name = await _hive.NewAgentAsync("turner");
        await using var agent = await _hive.ConnectAsync(name);
        var overrides = fields
            .Replace("LONG_TOOL", new string('t', RecordTurn.MaxToolNameBytes + 1))
            .Replace("MANY_TOOLS", JsonSerializer.Serialize(Enumerable.Range(0, RecordTurn.MaxTools + 1).ToDictionary(i => $"tool{i}", _ => 1)))
            .Replace("LONG_NOTE", new string('é', RecordTurn.MaxNoteBytes / 2 + 1)) // 1026 UTF-8 bytes, 513 chars
            .Replace("LONG_MODEL", new string('m', RecordTurn.MaxModelBytes + 1));
        var turn = TurnStatsHive.Turn();
        foreach (var property in JsonDocument.Parse(overrides).RootElement.EnumerateObject()) turn[property.Name] = property.Value.Clone();

        var reply = await agent.CallAsync(turn);

        Assert.False(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM turns WHERE agent = @name", new { name }));
    }

    [Fact]
    public async Task A_note_of_exactly_1024_bytes_is_kept()
    {
        var name = await _hive.NewAgentAsync("turner");
        await using var agent = await _hive.ConnectAsync(name);
        var note = new string('é', RecordTurn.MaxNoteBytes / 2);
        var id = await TurnStatsHive.RecordAsync(agent, TurnStatsHive.Turn(extra: new { note }));
        Assert.Equal(note, _hive.QueryDb<string>("SELECT note FROM turns WHERE id = @id", new { id }));
    }
}
