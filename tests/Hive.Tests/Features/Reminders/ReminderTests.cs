using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hive.Features.Reminders;
using Hive.Tests.Infrastructure;

namespace Hive.Tests.Features.Reminders;

/// <summary>Reminders driven as agents and the operator drive them, with a 200 ms tick.</summary>
public sealed class ReminderTests : IAsyncLifetime
{
    private const int MaxAttempts = 3;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"],
        "--Hive:Reminders:TickSeconds", "0.2", "--Hive:Reminders:MaxAttempts", MaxAttempts.ToString());

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private long Ticks => _hive.Service<ReminderScheduler>().CompletedTicks;

    private async Task WaitTicksAsync(int count)
    {
        var target = Ticks + count;
        await HiveInstance.Until(() => Ticks >= target, TimeSpan.FromSeconds(count * 2 + 5), $"{count} ticks");
    }

    private static async Task<long> RemindAsync(AgentClient agent, object request)
    {
        var reply = await agent.CallAsync(request);
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        return reply.GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task A_scheduled_reminder_reaches_a_waiting_recv_as_a_reminder_message()
    {
        var payload = Path.Combine(_hive.DataDir, "agents", "alice", "state", "todo.md");
        await File.WriteAllTextAsync(payload, "the list");
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync("alice");
        var waiting = (await _hive.ConnectAsync("alice")).RecvAsync(waitMs: 10_000);

        var id = await RemindAsync(alice, new { op = "remind", body = "check /agents/alice/state/todo.md", in_seconds = 0.3, payload_path = "/agents/alice/state/todo.md" });
        var scheduled = await events.WaitForAsync("reminder_scheduled");
        Assert.Equal(id, scheduled.Json.GetProperty("reminder").GetProperty("id").GetInt64());
        Assert.Equal(1, scheduled.Json.GetProperty("pending_reminders").GetInt64());

        var message = (await waiting)!.Value;
        Assert.Equal("reminder", message.GetProperty("kind").GetString());
        Assert.Equal("reminder", message.GetProperty("from").GetString());
        Assert.Equal("check /agents/alice/state/todo.md", message.GetProperty("body").GetString());
        Assert.Equal(id, message.GetProperty("reminder_id").GetInt64());
        Assert.Equal(["/agents/alice/state/todo.md"], message.GetProperty("payload_refs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["/agents/alice/state/todo.md"], message.GetProperty("file_refs").EnumerateArray().Select(e => e.GetString()));

        var delivered = await events.WaitForAsync("reminder_delivered");
        Assert.Equal(id, delivered.Json.GetProperty("id").GetInt64());
        Assert.Equal(message.GetProperty("id").GetInt64(), delivered.Json.GetProperty("message_id").GetInt64());
        Assert.Equal(0, delivered.Json.GetProperty("pending_reminders").GetInt64());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders"));
        Assert.Equal(0, (await alice.CallAsync(new { op = "count_pending_reminders" })).GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task A_reminder_for_a_removed_agent_fails_MaxAttempts_times_then_is_left_alone_until_retried()
    {
        await using (var bob = await _hive.ConnectAsync("bob"))
            await RemindAsync(bob, new { op = "remind", body = "bob, wake up", in_seconds = 2 });
        await _hive.RestartAsync(["alice"]); // bob is gone

        await using var events = await _hive.OpenEventsAsync(); // before the reminder falls due
        Assert.Equal(0, _hive.QueryDb<long>("SELECT attempt_count FROM reminders"));
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT attempt_count FROM reminders") == MaxAttempts, what: "MaxAttempts failures");
        var failures = new List<JsonElement>();
        while (failures.Count < MaxAttempts)
        {
            var e = await events.NextAsync(TimeSpan.FromSeconds(5));
            if (e!.Type == "reminder_failed") failures.Add(e.Json);
        }
        Assert.Equal(Enumerable.Range(1, MaxAttempts), failures.Select(f => f.GetProperty("attempt_count").GetInt32()));
        Assert.All(failures, f => Assert.Equal("bob is not a live agent", f.GetProperty("last_error").GetString()));

        await WaitTicksAsync(10);
        Assert.Equal(MaxAttempts, _hive.QueryDb<long>("SELECT attempt_count FROM reminders"));
        var listed = (await _hive.GetJsonAsync("/api/reminders")).EnumerateArray().Single();
        Assert.Equal(MaxAttempts, listed.GetProperty("attempt_count").GetInt32());
        Assert.Equal("bob is not a live agent", listed.GetProperty("last_error").GetString());

        // Retry: the counters reset and a new attempt follows within 2 ticks.
        var id = listed.GetProperty("id").GetInt64();
        var before = Ticks;
        using var retry = await _hive.Http.PostAsync($"/api/reminders/{id}/retry", null);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(0, (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("attempt_count").GetInt32());
        await events.WaitForAsync("reminder_reset", e => e.GetProperty("reminder").GetProperty("id").GetInt64() == id);
        var again = await events.WaitForAsync("reminder_failed", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(1, again.Json.GetProperty("attempt_count").GetInt32());
        Assert.True(Ticks - before <= 2, $"the retry took {Ticks - before} ticks");
    }

    [Fact]
    public async Task A_cancelled_reminder_is_gone_and_never_attempted()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var events = await _hive.OpenEventsAsync();
        var id = await RemindAsync(alice, new { op = "remind", body = "never", in_seconds = 1 });

        using var cancel = await _hive.Http.DeleteAsync($"/api/reminders/{id}");
        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        var cancelled = await events.WaitForAsync("reminder_cancelled");
        Assert.Equal(id, cancelled.Json.GetProperty("id").GetInt64());
        Assert.Equal(0, cancelled.Json.GetProperty("pending_reminders").GetInt64());

        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders"));
        await WaitTicksAsync(7); // 1.4 s: past its due time
        Assert.Null(await alice.RecvAsync());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE kind = 'reminder'"));

        using var again = await _hive.Http.DeleteAsync($"/api/reminders/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        using var retryGone = await _hive.Http.PostAsync($"/api/reminders/{id}/retry", null);
        Assert.Equal(HttpStatusCode.NotFound, retryGone.StatusCode);
    }

    [Fact]
    public async Task A_payload_deleted_after_scheduling_fails_with_a_clear_error()
    {
        var payload = Path.Combine(_hive.DataDir, "agents", "alice", "state", "brief.md");
        await File.WriteAllTextAsync(payload, "brief");
        await using var alice = await _hive.ConnectAsync("alice");
        var id = await RemindAsync(alice, new { op = "remind", body = "read the brief", in_seconds = 0.5, payload_path = "/agents/alice/state/brief.md" });
        File.Delete(payload);

        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT attempt_count FROM reminders WHERE id = @id", new { id }) >= 1, what: "a failed attempt");
        await HiveInstance.Until(() => _hive.QueryDb<string?>("SELECT last_error FROM reminders WHERE id = @id", new { id }) is not null, what: "last_error");
        Assert.Equal("payload /agents/alice/state/brief.md is no longer a readable state file",
            _hive.QueryDb<string>("SELECT last_error FROM reminders WHERE id = @id", new { id }));
        Assert.Null(await alice.RecvAsync());
    }

    [Fact]
    public async Task Reminders_overdue_at_start_are_delivered_on_the_first_tick_in_due_order()
    {
        // A scheduler that ticks once at start-up and then not for an hour: whatever is due is delivered by that
        // first tick, or not at all.
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Reminders:TickSeconds", "3600");
        await HiveInstance.Until(() => hive.Service<ReminderScheduler>().CompletedTicks >= 1, what: "the start-up tick");
        await using (var alice = await hive.ConnectAsync("alice"))
        {
            var now = DateTimeOffset.UtcNow;
            // Scheduled out of due order, all already due while no tick will come.
            foreach (var offset in new[] { 10, 30, 20, 50, 40 })
                await RemindAsync(alice, new { op = "remind", body = $"due -{offset}s", due_at = now.AddSeconds(-offset) });
        }
        Assert.Equal(5, hive.QueryDb<long>("SELECT count(*) FROM reminders"));

        await hive.RestartAsync();
        await using var again = await hive.ConnectAsync("alice");
        var bodies = new List<string>();
        while (bodies.Count < 5) bodies.Add((await again.RecvAsync(waitMs: 5_000))!.Value.GetProperty("body").GetString()!);
        Assert.Equal(["due -50s", "due -40s", "due -30s", "due -20s", "due -10s"], bodies);
        Assert.Equal(1, hive.Service<ReminderScheduler>().CompletedTicks);
    }

    public static TheoryData<string, string> BadRemindRequests => new()
    {
        { """{"op":"remind","body":"","in_seconds":1}""", "validation" },
        { """{"op":"remind","in_seconds":1}""", "validation" },
        { """{"op":"remind","body":"BODY_TOO_LARGE","in_seconds":1}""", "too_large" },
        { """{"op":"remind","body":"x"}""", "validation" },
        { """{"op":"remind","body":"x","in_seconds":1,"due_at":"2030-01-01T00:00:00Z"}""", "validation" },
        { """{"op":"remind","body":"x","in_seconds":-1}""", "validation" },
        { """{"op":"remind","body":"x","in_seconds":1e12}""", "validation" },
        { """{"op":"remind","body":"x","in_seconds":"soon"}""", "bad_request" },
        { """{"op":"remind","body":"x","due_at":"tomorrow"}""", "bad_request" },
        { """{"op":"remind","body":"x","due_at":"12:00"}""", "bad_request" },
        { """{"op":"remind","body":"x","due_at":"2030-01-01T00:00:00"}""", "bad_request" }, // no zone
        { """{"op":"remind","body":"x","due_at":"9999-12-31T00:00:00Z"}""", "validation" },
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":"/etc/passwd"}""", "forbidden" },
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":"/agents/alice/state/../private"}""", "forbidden" },
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":"/agents/alice/state/missing.md"}""", "forbidden" },
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":"/agents/bob/state/bobs.md"}""", "forbidden" }, // not alice's
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":""}""", "forbidden" },
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":42}""", "bad_request" },
    };

    [Theory]
    [MemberData(nameof(BadRemindRequests))]
    public async Task Bad_remind_requests_get_an_error_and_store_nothing(string line, string code)
    {
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", "bob", "state", "bobs.md"), "bob's");
        await using var alice = await _hive.ConnectAsync("alice");
        var reply = await alice.CallRawAsync(line.Replace("BODY_TOO_LARGE", new string('x', 1025)));
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders"));
    }

    [Fact]
    public async Task The_snapshot_lists_reminders_and_each_agents_pending_count()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await RemindAsync(alice, new { op = "remind", body = "one", in_seconds = 3600 });
        await RemindAsync(alice, new { op = "remind", body = "two", in_seconds = 7200 });

        var state = await _hive.GetJsonAsync("/api/state");
        Assert.Equal(["one", "two"], state.GetProperty("reminders").EnumerateArray().Select(r => r.GetProperty("body").GetString()));
        var agents = state.GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!, a => a.GetProperty("pending_reminders").GetInt64());
        Assert.Equal(2, agents["alice"]);
        Assert.Equal(0, agents["bob"]);
        var reminder = state.GetProperty("reminders")[0];
        foreach (var field in new[] { "id", "agent", "due_at", "body", "payload_path", "payload_refs", "attempt_count", "last_error", "created_at" })
            Assert.True(reminder.TryGetProperty(field, out _), field);
    }

    [Fact]
    public async Task Unknown_ids_are_404_and_malformed_ids_are_refused()
    {
        using var cancel = await _hive.Http.DeleteAsync("/api/reminders/987654");
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        Assert.Equal("application/problem+json", cancel.Content.Headers.ContentType?.MediaType);
        using var retry = await _hive.Http.PostAsync("/api/reminders/987654/retry", null);
        Assert.Equal(HttpStatusCode.NotFound, retry.StatusCode);
        // Issue 11: a malformed id is the caller's mistake (400 bad_request), not an unknown reminder.
        using var malformed = await _hive.Http.DeleteAsync("/api/reminders/abc");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("bad_request", (await malformed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        using var huge = await _hive.Http.DeleteAsync("/api/reminders/99999999999999999999");
        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
    }
}
