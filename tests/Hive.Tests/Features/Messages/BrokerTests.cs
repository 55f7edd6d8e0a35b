using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hive.Tests.Infrastructure;

namespace Hive.Tests.Features.Messages;

/// <summary>The broker driven as agents and the operator drive it: over real sockets, HTTP and SSE.</summary>
public sealed class BrokerTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob", "carol"]);
    public async Task DisposeAsync() => await _hive.DisposeAsync();

    [Fact]
    public async Task Waiting_recv_returns_a_message_from_another_agent_within_100_ms()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        // Warm the path once so the measurement is of the wake-up, not of JIT.
        await alice.SendAsync("bob", "warm-up");
        Assert.NotNull(await bob.RecvAsync());

        var waiting = bob.RecvAsync(waitMs: 10_000);
        await Task.Delay(50); // let the receiver park: the test is that arrival wakes it, not that it finds it
        var sent = Stopwatch.StartNew();
        var id = await alice.SendAsync("bob", "hello bob");
        var message = await waiting;
        sent.Stop();

        Assert.NotNull(message);
        Assert.Equal(id, message.Value.GetProperty("id").GetInt64());
        Assert.Equal("alice", message.Value.GetProperty("from").GetString());
        Assert.Equal("bob", message.Value.GetProperty("to").GetString());
        Assert.Equal("message", message.Value.GetProperty("kind").GetString());
        Assert.Equal("hello bob", message.Value.GetProperty("body").GetString());
        Assert.Equal(JsonValueKind.Array, message.Value.GetProperty("file_refs").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, message.Value.GetProperty("delivered_at").ValueKind);
        Assert.True(sent.ElapsedMilliseconds < 100, $"recv woke after {sent.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Recv_without_wait_returns_null_when_the_inbox_is_empty_and_hands_each_message_out_once()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var carol = await _hive.ConnectAsync("carol");
        Assert.Null(await carol.RecvAsync());
        await alice.SendAsync("carol", "one");
        await alice.SendAsync("carol", "two");
        Assert.Equal("one", (await carol.RecvAsync())!.Value.GetProperty("body").GetString());
        Assert.Equal("two", (await carol.RecvAsync())!.Value.GetProperty("body").GetString());
        Assert.Null(await carol.RecvAsync());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'carol' AND delivered_at IS NULL"));
    }

    [Fact]
    public async Task Waiting_recv_times_out_with_null()
    {
        await using var carol = await _hive.ConnectAsync("carol");
        var clock = Stopwatch.StartNew();
        Assert.Null(await carol.RecvAsync(waitMs: 200));
        Assert.InRange(clock.ElapsedMilliseconds, 150, 5_000);
    }

    [Fact]
    public async Task Stream_shows_sent_then_delivered_with_increasing_ids()
    {
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");

        var id = await alice.SendAsync("bob", "watch this");
        var received = await bob.RecvAsync(waitMs: 5_000);
        Assert.NotNull(received);

        var sent = await events.WaitForAsync("sent", e => e.GetProperty("id").GetInt64() == id);
        var delivered = await events.WaitForAsync("delivered", e => e.GetProperty("id").GetInt64() == id);
        Assert.True(delivered.Id > sent.Id, $"delivered {delivered.Id} after sent {sent.Id}");
        Assert.True(sent.Id > events.Hello.Json.GetProperty("seq").GetInt64());
        Assert.Equal("watch this", sent.Json.GetProperty("body").GetString());
        Assert.Equal("alice", sent.Json.GetProperty("from").GetString());
        Assert.Equal(JsonValueKind.Null, sent.Json.GetProperty("delivered_at").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, delivered.Json.GetProperty("delivered_at").ValueKind);
        Assert.Equal(JsonValueKind.Array, delivered.Json.GetProperty("file_refs").ValueKind);
    }

    [Fact]
    public async Task Operator_sends_over_http_and_the_agent_receives_it()
    {
        using var response = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "from the operator" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("operator", created.GetProperty("from").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", created.GetProperty("sent_at").GetString());

        await using var alice = await _hive.ConnectAsync("alice");
        var message = await alice.RecvAsync();
        Assert.Equal(created.GetProperty("id").GetInt64(), message!.Value.GetProperty("id").GetInt64());
        Assert.Equal("operator", message.Value.GetProperty("from").GetString());
    }

    [Fact]
    public async Task Messages_to_the_operator_fill_the_inbox_newest_first()
    {
        await using var bob = await _hive.ConnectAsync("bob");
        var first = await bob.SendAsync("operator", "inbox one");
        var second = await bob.SendAsync("operator", "inbox two");
        await bob.SendAsync("alice", "not for the operator");

        var inbox = await _hive.GetJsonAsync("/api/inbox");
        var ids = inbox.EnumerateArray().Select(m => m.GetProperty("id").GetInt64()).ToList();
        Assert.Equal([second, first], ids.Where(i => i == first || i == second));
        Assert.All(inbox.EnumerateArray(), m => Assert.Equal("operator", m.GetProperty("to").GetString()));
        Assert.All(inbox.EnumerateArray(), m => Assert.Equal(JsonValueKind.Array, m.GetProperty("file_refs").ValueKind));
    }

    [Fact]
    public async Task History_pages_newest_first_with_before_and_limit()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var ids = new List<long>();
        for (var i = 0; i < 7; i++) ids.Add(await alice.SendAsync("carol", $"history {i}"));

        var page = await _hive.GetJsonAsync($"/api/messages?before={ids[^1] + 1}&limit=3");
        Assert.Equal(ids[^3..].AsEnumerable().Reverse(), page.EnumerateArray().Select(m => m.GetProperty("id").GetInt64()));
        var next = await _hive.GetJsonAsync($"/api/messages?before={ids[^3]}&limit=3");
        Assert.Equal(ids[^6..^3].AsEnumerable().Reverse(), next.EnumerateArray().Select(m => m.GetProperty("id").GetInt64()));

        foreach (var bad in new[] { "limit=0", "limit=501", "limit=abc", "before=-1", "before=1.5", "before=0" })
        {
            using var response = await _hive.Http.GetAsync($"/api/messages?{bad}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Concurrent_receivers_of_one_agent_never_get_the_same_message()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var receivers = new List<AgentClient>();
        for (var i = 0; i < 4; i++) receivers.Add(await _hive.ConnectAsync("carol"));
        const int count = 100;
        var waits = receivers.Select(async r =>
        {
            var got = new List<long>();
            while (await r.RecvAsync(waitMs: 500) is { } m) got.Add(m.GetProperty("id").GetInt64());
            return got;
        }).ToList();
        var sent = new List<long>();
        for (var i = 0; i < count; i++) sent.Add(await alice.SendAsync("carol", $"m{i}"));
        var received = (await Task.WhenAll(waits)).SelectMany(x => x).ToList();
        foreach (var r in receivers) await r.DisposeAsync();

        Assert.Equal(sent.Order(), received.Order());
    }

    [Fact]
    public async Task Undelivered_messages_survive_a_restart()
    {
        await using (var alice = await _hive.ConnectAsync("alice"))
        {
            await alice.SendAsync("bob", "before restart 1");
            await alice.SendAsync("bob", "before restart 2");
        }

        await _hive.RestartAsync();

        await using var bob = await _hive.ConnectAsync("bob");
        Assert.Equal("before restart 1", (await bob.RecvAsync())!.Value.GetProperty("body").GetString());
        Assert.Equal("before restart 2", (await bob.RecvAsync())!.Value.GetProperty("body").GetString());
        Assert.Null(await bob.RecvAsync());
    }
}
