using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Features;

/// <summary>
/// What one agent may store per hour, every request together (transcripts: <c>Hive:TurnStats:TranscriptBytesPerHour</c>;
/// message bodies: <c>Hive:Messages:BytesPerHour</c>). Past it a request is refused with <c>too_many</c> and a sentence
/// naming the limit and when it resets, nothing is stored, the agent's row shows it, and another agent is unaffected; a
/// restart forgives nothing. The hive's clock is set to ten past an hour, so no test runs across an hour's end.
/// </summary>
public sealed class StorageBudgetTests
{
    private const int Limit = 4096;

    private static Task<HiveInstance> StartAsync(string key)
    {
        var clock = new TenPastClock(); // one for every start, so a restart keeps the hour
        return HiveInstance.StartAsync(["alice", "bob"], ["--" + key, Limit.ToString()], services => services.AddSingleton<TimeProvider>(clock));
    }

    [Fact]
    public async Task An_agent_past_its_hourly_transcript_budget_is_refused_shown_on_its_row_and_another_agent_is_not()
    {
        await using var hive = await StartAsync("Hive:TurnStats:TranscriptBytesPerHour");
        await using (var alice = await hive.ConnectAsync("alice"))
        await using (var bob = await hive.ConnectAsync("bob"))
        {
            // Each batch within the per-turn cap; the turn recorded between them, as a harness would, which resets only that cap.
            for (var i = 0; i < 3; i++)
            {
                AgentClient.Ok(await alice.CallAsync(Transcript(1000)));
                // A turn is recorded only as the turn it was granted.
                var turnId = AgentClient.Ok(await alice.CallAsync(new { op = "begin_turn", wait_ms = 5000 })).GetProperty("turn_id").GetInt64();
                var now = global::Hive.Contracts.Json.UtcTimestamp.Format(hive.Service<TimeProvider>().GetUtcNow()); // the host's clock
                AgentClient.Ok(await alice.CallAsync(new { op = "record_turn", turn_id = turnId, result_kind = "ok", started_at = now, ended_at = now }));
            }
            var refused = await alice.CallAsync(Transcript(1500));
            AssertRefused(refused, "Hive:TurnStats:TranscriptBytesPerHour");
            Assert.Equal(3000, hive.QueryDb<long>("SELECT sum(length(text)) FROM transcript_entries WHERE agent = 'alice'"));

            AgentClient.Ok(await bob.CallAsync(Transcript(2000)));
        }
        var (aliceRow, bobRow) = await RowsAsync(hive, "transcript_storage");
        Assert.Equal((3000, Limit), (aliceRow.GetProperty("bytes_this_hour").GetInt64(), aliceRow.GetProperty("limit").GetInt64()));
        Assert.Equal(JsonValueKind.String, aliceRow.GetProperty("refused_since").ValueKind);
        Assert.Equal((2000, JsonValueKind.Null), (bobRow.GetProperty("bytes_this_hour").GetInt64(), bobRow.GetProperty("refused_since").ValueKind));

        // Counted from the stored rows again after a restart: still refused.
        await hive.RestartAsync();
        await using (var alice = await hive.ConnectAsync("alice"))
        {
            AssertRefused(await alice.CallAsync(Transcript(1500)), "Hive:TurnStats:TranscriptBytesPerHour");
            AgentClient.Ok(await alice.CallAsync(Transcript(1000)));
        }
        Assert.Equal(4000, (await RowsAsync(hive, "transcript_storage")).Alice.GetProperty("bytes_this_hour").GetInt64());
    }

    [Fact]
    public async Task An_agent_past_its_hourly_message_budget_is_refused_shown_on_its_row_and_another_agent_is_not()
    {
        await using var hive = await StartAsync("Hive:Messages:BytesPerHour");
        await using (var alice = await hive.ConnectAsync("alice"))
        await using (var bob = await hive.ConnectAsync("bob"))
        {
            for (var i = 0; i < 4; i++) await alice.SendAsync("bob", new string((char)('a' + i), 1000));
            var refused = await alice.CallAsync(new { op = "send", to = "bob", body = new string('e', 1000) });
            AssertRefused(refused, "Hive:Messages:BytesPerHour");
            Assert.Equal(4, hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'alice'"));

            await bob.SendAsync("alice", new string('g', 1000));
        }
        // The operator has no such limit.
        using (var sent = await hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = new string('h', 1000) }))
            Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync());
        var (aliceRow, bobRow) = await RowsAsync(hive, "message_storage");
        Assert.Equal((4000, Limit), (aliceRow.GetProperty("bytes_this_hour").GetInt64(), aliceRow.GetProperty("limit").GetInt64()));
        Assert.Equal(JsonValueKind.String, aliceRow.GetProperty("refused_since").ValueKind);
        Assert.Equal((1000, JsonValueKind.Null), (bobRow.GetProperty("bytes_this_hour").GetInt64(), bobRow.GetProperty("refused_since").ValueKind));

        await hive.RestartAsync();
        await using (var alice = await hive.ConnectAsync("alice"))
            AssertRefused(await alice.CallAsync(new { op = "send", to = "bob", body = new string('i', 100) }), "Hive:Messages:BytesPerHour");
    }

    private static object Transcript(int bytes) => new { op = "transcript", entries = new[] { new { kind = "text", text = new string('t', bytes) } } };

    private static void AssertRefused(JsonElement reply, string key)
    {
        Assert.False(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        Assert.Equal("too_many", reply.GetProperty("code").GetString());
        var error = reply.GetProperty("error").GetString()!;
        Assert.Contains(key, error, StringComparison.Ordinal);
        Assert.Contains($"the limit is {Limit} bytes an hour", error, StringComparison.Ordinal);
        Assert.Contains(":00 UTC", error, StringComparison.Ordinal); // when it resets
    }

    private static async Task<(JsonElement Alice, JsonElement Bob)> RowsAsync(HiveInstance hive, string field)
    {
        var agents = (await hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().ToList();
        JsonElement of(string name) => agents.Single(a => a.GetProperty("name").GetString() == name).GetProperty(field);
        return (of("alice"), of("bob"));
    }

    /// <summary>The system clock moved to ten past the current hour: a test never crosses an hour's end.</summary>
    private sealed class TenPastClock : TimeProvider
    {
        private readonly TimeSpan _offset;

        public TenPastClock()
        {
            var now = System.GetUtcNow();
            _offset = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 10, 0, TimeSpan.Zero) - now;
        }

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + _offset;
    }
}
