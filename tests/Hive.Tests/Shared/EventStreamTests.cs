using Hive.Contracts.Json;
using Hive.Contracts.Messages;

namespace Hive.Tests.Shared;

/// <summary>The SSE contract of DESIGN.md: numbered events, Last-Event-ID resume, resync, heartbeat, snapshot seq.</summary>
public sealed class EventStreamTests(EventStreamTests.Fixture fixture) : SharedHiveTests(fixture), IClassFixture<EventStreamTests.Fixture>
{
    private const int RingCapacity = 50;

    /// <summary>A small replay ring and a fast heartbeat, shared by the class; alice and bob are configured agents.</summary>
    public sealed class Fixture : HiveFixture
    {
        protected override string[] Agents => ["alice", "bob"];
        protected override string[] Args =>
            ["--Hive:Dashboard:ReplayCapacity", RingCapacity.ToString(), "--Hive:Dashboard:HeartbeatSeconds", "0.3"];
    }

    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Stream_is_served_as_event_stream_starting_with_hello()
    {
        await using var events = await _hive.OpenEventsAsync();
        Assert.Equal("text/event-stream", events.Response.Content.Headers.ContentType?.MediaType);
        Assert.Null(events.Hello.Id); // hello must not move the client's Last-Event-ID
        var state = await _hive.GetJsonAsync("/api/state");
        Assert.Equal(state.GetProperty("seq").GetInt64(), events.Hello.Json.GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task A_HEAD_of_the_stream_answers_its_headers_and_holds_nothing_open()
    {
        var hub = _hive.Service<Hive.Shared.Dashboard.DashboardHub>();
        var before = hub.OpenSubscriptions;
        using var request = new HttpRequestMessage(HttpMethod.Head, "/api/events");
        using var response = await _hive.Http.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, hub.OpenSubscriptions);
    }

    [Fact]
    public async Task Reconnect_with_Last_Event_ID_replays_exactly_the_missed_events()
    {
        // Exactly: the events after lastSeen are this test's sends (no other test of the class runs meanwhile).
        var (aliceName, bob) = await TwoAgentsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        long lastSeen;
        await using (var first = await _hive.OpenEventsAsync())
        {
            var id = await alice.SendAsync(bob, "seen live");
            lastSeen = (await first.WaitForAsync("sent", e => e.Deserialize<MessageView>(HiveJson.Options)!.Id == id)).Id!.Value;
        }

        var missed = new List<long>();
        for (var i = 0; i < 5; i++) missed.Add(await alice.SendAsync(bob, $"missed {i}"));

        await using var resumed = await _hive.OpenEventsAsync(lastSeen);
        var replayed = new List<SseEvent>();
        for (var i = 0; i < 5; i++) replayed.Add((await resumed.NextAsync())!);

        Assert.All(replayed, e => Assert.Equal("sent", e.Type));
        Assert.Equal(missed, replayed.Select(e => e.Payload<MessageView>().Id));
        Assert.Equal(Enumerable.Range(1, 5).Select(i => lastSeen + i), replayed.Select(e => e.Id!.Value));

        // And nothing more: the next event is the next live one.
        var live = await alice.SendAsync(bob, "live again");
        var next = await resumed.NextAsync();
        Assert.Equal(live, next!.Payload<MessageView>().Id);
        Assert.Equal(lastSeen + 6, next.Id);
    }

    [Fact]
    public async Task An_id_older_than_the_ring_yields_one_resync_then_live_events()
    {
        var (aliceName, bob) = await TwoAgentsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        var start = (await _hive.GetJsonAsync("/api/state")).GetProperty("seq").GetInt64();
        for (var i = 0; i < RingCapacity + 5; i++) await alice.SendAsync(bob, $"flood {i}");

        await using var stale = await _hive.OpenEventsAsync(start);
        var first = await stale.NextAsync();
        Assert.Equal("resync", first!.Type);

        var live = await alice.SendAsync(bob, "after resync");
        var next = await stale.NextAsync();
        Assert.Equal("sent", next!.Type); // one resync, no replay of a partial history
        Assert.Equal(live, next.Payload<MessageView>().Id);
    }

    [Theory]
    [InlineData("999999999999999999")] // from the future (or another run)
    [InlineData("garbage")]
    [InlineData("1")]                   // from long before this run
    public async Task An_unusable_Last_Event_ID_yields_resync(string header)
    {
        using var http = _hive.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        request.Headers.TryAddWithoutValidation("Last-Event-ID", header);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var cts = new CancellationTokenSource(SseStream.Patience);
        var lines = new List<string>();
        while (lines.Count(l => l.StartsWith("event:")) < 2) lines.Add((await reader.ReadLineAsync(cts.Token))!);
        Assert.Equal(["event: hello", "event: resync"], lines.Where(l => l.StartsWith("event:")));
    }

    [Fact]
    public async Task Heartbeat_comments_keep_an_idle_stream_alive()
    {
        await using var events = await _hive.OpenEventsAsync();
        await events.WaitForCommentsAsync(2, SseStream.Patience);
    }

    [Fact]
    public async Task Snapshot_seq_plus_stream_sees_every_message_exactly_once_under_concurrent_sends()
    {
        // Senders run while the snapshot is taken; every message must be in the snapshot or in the stream after
        // its seq, never both, never neither. 40 messages stay inside the snapshot's last-100 inbox window, and the
        // events after the snapshot inside the replay ring however far the senders get before the stream opens.
        const int total = 40;
        var (aliceName, bobName) = await TwoAgentsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        await using var bob = await _hive.ConnectAsync(bobName);
        var sent = new System.Collections.Concurrent.ConcurrentQueue<long>();
        var sender = Task.Run(async () =>
        {
            for (var i = 0; i < total; i++) sent.Enqueue(await (i % 2 == 0 ? alice : bob).SendAsync("operator", $"race {i}"));
        });
        await HiveInstance.Until(() => sent.Count >= total / 4);
        var state = await _hive.GetJsonAsync("/api/state");
        await using var events = await _hive.OpenEventsAsync(state.GetProperty("seq").GetInt64());
        await sender;

        // This test's messages: the inbox and the stream may hold other tests' too.
        var ours = sent.ToHashSet();
        var inSnapshot = state.GetProperty("inbox").Deserialize<List<MessageView>>(HiveJson.Options)!.Select(m => m.Id).Where(ours.Contains).ToList();
        var fromStream = new List<long>();
        var lastSent = sent.Max();
        while (!fromStream.Contains(lastSent) && !inSnapshot.Contains(lastSent)) // on a loaded machine all may precede the snapshot
        {
            var e = await events.NextAsync();
            Assert.NotEqual("resync", e!.Type);
            if (e.Type == "sent" && e.Payload<MessageView>().Id is var id && ours.Contains(id)) fromStream.Add(id);
        }

        Assert.NotEmpty(inSnapshot);
        var seen = inSnapshot.Concat(fromStream).ToList();
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(sent.Order(), seen.Order());
    }

    [Fact]
    public async Task State_carries_agents_inbox_messages_and_seq()
    {
        var state = await _hive.GetJsonAsync("/api/state");
        Assert.Equal(JsonValueKind.Number, state.GetProperty("seq").ValueKind);
        // manager first, then every agent by name; of the rows, the configured ones (other tests add agents of their own).
        var rows = state.GetProperty("agents").EnumerateArray().ToList();
        var names = rows.Select(a => a.GetProperty("name").GetString()!).ToList();
        Assert.Equal(names.Skip(1).Order(StringComparer.Ordinal), names.Skip(1));
        var agents = rows.Where(a => a.GetProperty("name").GetString() is "manager" or "alice" or "bob").ToList();
        Assert.Equal(["manager", "alice", "bob"], agents.Select(a => a.GetProperty("name").GetString()));
        Assert.Equal("manager", names[0]);
        Assert.Equal("manager", agents[0].GetProperty("kind").GetString());
        Assert.Equal(Path.Combine(_hive.DataDir, "agents", "alice", "state"), agents[1].GetProperty("state_dir").GetString());
        Assert.True(Directory.Exists(agents[1].GetProperty("state_dir").GetString()));
        Assert.Equal(JsonValueKind.Array, state.GetProperty("inbox").ValueKind);
        Assert.Equal(JsonValueKind.Array, state.GetProperty("messages").ValueKind);
    }

    private async Task<(string, string)> TwoAgentsAsync()
    {
        var agents = await _hive.NewAgentsAsync("alice", "bob");
        return (agents[0], agents[1]);
    }
}
