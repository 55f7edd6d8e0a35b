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

    /// <summary>A well-formed turn of <paramref name="agent"/> that ended just now, as the verb sends it.</summary>
    private static RecordTurn.Command Good(string agent)
    {
        var now = DateTimeOffset.UtcNow;
        return new(agent, "claude-test", "message", "ok", now.AddSeconds(-3), now, 3000, 100, 20, 0, 0, 3,
            new Dictionary<string, long> { ["Bash"] = 2, ["Read"] = 1 }, 1, 0, null);
    }

    private static readonly DateTimeOffset Jan1 = DateTimeOffset.Parse("2026-01-01T10:00:00Z");

    /// <summary>Each rule's refusal, in process: the change a caller made to a good turn.</summary>
    private static readonly Dictionary<string, Func<RecordTurn.Command, RecordTurn.Command>> BadTurns = new()
    {
        ["unknown result kind"] = t => t with { ResultKind = "maybe" },
        ["no result kind"] = t => t with { ResultKind = null },
        ["no start"] = t => t with { StartedAt = null },
        ["no end"] = t => t with { EndedAt = null },
        ["ends before it starts"] = t => t with { StartedAt = Jan1.AddSeconds(5), EndedAt = Jan1 },
        ["ends in the future"] = t => t with { EndedAt = DateTimeOffset.Parse("2999-01-01T00:00:00Z") },
        ["starts too long ago"] = t => t with { StartedAt = DateTimeOffset.Parse("2001-01-01T00:00:00Z") },
        ["negative input tokens"] = t => t with { InputTokens = -1 },
        ["negative output tokens"] = t => t with { OutputTokens = -5 },
        ["too many cache reads"] = t => t with { CacheReadTokens = 2_000_000_000 },
        ["negative cache creation"] = t => t with { CacheCreationTokens = -1 },
        ["negative duration"] = t => t with { DurationMs = -1 },
        ["duration past the cap"] = t => t with { DurationMs = 999_999_999_999 },
        ["negative tool calls"] = t => t with { ToolCallCount = -1 },
        ["negative open threads"] = t => t with { OpenThreadsCount = -1 },
        ["negative open reminders"] = t => t with { OpenRemindersCount = -2 },
        ["negative tool count"] = t => t with { Tools = new Dictionary<string, long> { ["Bash"] = -1 } },
        ["empty tool name"] = t => t with { Tools = new Dictionary<string, long> { [""] = 1 } },
        ["long tool name"] = t => t with { Tools = new Dictionary<string, long> { [new string('t', RecordTurn.MaxToolNameBytes + 1)] = 1 } },
        ["too many tools"] = t => t with { Tools = Enumerable.Range(0, RecordTurn.MaxTools + 1).ToDictionary(i => $"tool{i}", _ => 1L) },
        ["long note"] = t => t with { Note = new string('é', RecordTurn.MaxNoteBytes / 2 + 1) }, // 1026 UTF-8 bytes, 513 chars
        ["long model"] = t => t with { Model = new string('m', RecordTurn.MaxModelBytes + 1) },
    };

    public static TheoryData<string> BadTurnCases => new(BadTurns.Keys);

    [Theory]
    [MemberData(nameof(BadTurnCases))]
    public async Task A_turn_the_rules_refuse_gets_validation_and_stores_nothing(string rule)
    {
        var name = await _hive.NewAgentAsync("turner");

        var refusal = await _hive.RefusalOfAsync(BadTurns[rule](Good(name)));

        Assert.Equal("validation", refusal.Code);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM turns WHERE agent = @name", new { name }));
    }

    /// <summary>What only the wire refuses (JSON that does not bind), and one rule's refusal as the socket words it.</summary>
    public static TheoryData<string, string> WireRefusals => new()
    {
        { """{"input_tokens":-1}""", "validation" },
        { """{"input_tokens":"many"}""", "bad_request" },
        { """{"input_tokens":1.5}""", "bad_request" },
        { """{"tools":["Bash"]}""", "bad_request" },
        { """{"started_at":"yesterday"}""", "bad_request" },
    };

    [Theory]
    [MemberData(nameof(WireRefusals))]
    public async Task A_turn_line_the_socket_refuses_gets_its_code_and_stores_nothing(string fields, string code)
    {
        var name = await _hive.NewAgentAsync("turner");
        await using var agent = await _hive.ConnectAsync(name);
        var turn = TurnStatsHive.Turn();
        foreach (var property in JsonDocument.Parse(fields).RootElement.EnumerateObject()) turn[property.Name] = property.Value.Clone();

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
