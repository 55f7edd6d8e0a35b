using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;
using Hive.Contracts.Reminders;
using Hive.Features.Reminders;
using Hive.Shared.Agents;
using static Hive.Tests.Features.Reminders.RemindersHive;

namespace Hive.Tests.Features.Reminders;

/// <summary>DeliverDueReminders: the scheduler's tick delivers due reminders as messages, and records failures.</summary>
[Collection(RemindersHive.Name)]
public sealed class DeliverDueRemindersTests(RemindersHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_scheduled_reminder_reaches_a_waiting_recv_as_a_reminder_message()
    {
        var name = await _hive.NewAgentAsync("alice");
        var payload = $"/agents/{name}/state/todo.md";
        await File.WriteAllTextAsync(_hive.DataDir + payload, "the list");
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync(name);
        await using var waiter = await _hive.ConnectAsync(name);
        var waiting = waiter.RecvAsync(waitMs: 10_000);

        var id = await RemindAsync(alice, new { op = "remind", body = $"check {payload}", in_seconds = 0.3, payload_path = payload });
        var scheduled = await events.WaitForPayloadAsync<ReminderScheduledPayload>("reminder_scheduled", e => e.Reminder.Id == id);
        Assert.Equal(1, scheduled.PendingReminders);
        // Its body names the file too: the queued reminder links it, as a message body would.
        Assert.Equal([payload], scheduled.Reminder.BodyRefs);

        var message = (await waiting)!.Value.Deserialize<MessageView>(HiveJson.Options)!;
        Assert.Equal("reminder", message.Kind);
        Assert.Equal("reminder", message.From);
        Assert.Equal($"check {payload}", message.Body);
        // The reminder's id and payload refs are extra fields of the system message (no record names them).
        Assert.Equal(id, message.Extra!["reminder_id"].GetInt64());
        Assert.Equal([payload], message.Extra["payload_refs"].Deserialize<string[]>()!);
        Assert.Equal([payload], message.FileRefs);

        var delivered = await events.WaitForPayloadAsync<ReminderDeliveredPayload>("reminder_delivered", e => e.Id == id);
        Assert.Equal(message.Id, delivered.MessageId);
        Assert.Equal(0, delivered.PendingReminders);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE agent = @name", new { name }));
        Assert.Equal(0, (await alice.CallAsync(ReminderVerbs.CountPendingReminders, new NoArgs())).Count);
    }

    [Fact]
    public async Task A_reminder_for_a_removed_agent_fails_MaxAttempts_times_then_is_left_alone()
    {
        await using var events = await _hive.OpenEventsAsync(); // before the reminder falls due
        var id = await ReminderOfARemovedAgentAsync(_hive);
        Assert.Equal(0, AttemptCount(id));

        await HiveInstance.Until(() => AttemptCount(id) == MaxAttempts, TimeSpan.FromSeconds(30), "MaxAttempts failures");
        var failures = new List<ReminderFailedPayload>();
        while (failures.Count < MaxAttempts)
            failures.Add(await events.WaitForPayloadAsync<ReminderFailedPayload>("reminder_failed", e => e.Id == id));
        Assert.Equal(Enumerable.Range(1, MaxAttempts), failures.Select(f => f.AttemptCount));
        var bob = _hive.QueryDb<string>("SELECT agent FROM reminders WHERE id = @id", new { id });
        Assert.All(failures, f => Assert.Equal($"{bob} is not a live agent", f.LastError));

        await fixture.WaitTicksAsync(10);
        Assert.Equal(MaxAttempts, AttemptCount(id));
        var listed = (await _hive.GetAsync<List<ReminderView>>("/api/reminders")).Single(r => r.Id == id);
        Assert.Equal(MaxAttempts, listed.AttemptCount);
        Assert.Equal($"{bob} is not a live agent", listed.LastError);
    }

    /// <summary>bob schedules a reminder, then bob is removed before it falls due; returns the reminder's id.</summary>
    internal static async Task<long> ReminderOfARemovedAgentAsync(HiveInstance hive)
    {
        var bob = await hive.NewAgentAsync("bob");
        long id;
        await using (var client = await hive.ConnectAsync(bob))
            id = await RemindAsync(client, new { op = "remind", body = "bob, wake up", in_seconds = 5 }); // not due before bob is removed
        Assert.True(await hive.Service<AgentDirectory>().RemoveAsync(bob)); // bob is gone
        return id;
    }

    private long AttemptCount(long id) => _hive.QueryDb<long>("SELECT attempt_count FROM reminders WHERE id = @id", new { id });

    [Fact]
    public async Task A_payload_deleted_after_scheduling_fails_with_a_clear_error()
    {
        var name = await _hive.NewAgentAsync("alice");
        var payload = $"/agents/{name}/state/brief.md";
        await File.WriteAllTextAsync(_hive.DataDir + payload, "brief");
        await using var alice = await _hive.ConnectAsync(name);
        var id = await RemindAsync(alice, new { op = "remind", body = "read the brief", in_seconds = 5, payload_path = payload }); // not due before the delete
        File.Delete(_hive.DataDir + payload);

        await HiveInstance.Until(() => AttemptCount(id) >= 1, TimeSpan.FromSeconds(30), "a failed attempt");
        await HiveInstance.Until(() => _hive.QueryDb<string?>("SELECT last_error FROM reminders WHERE id = @id", new { id }) is not null, what: "last_error");
        Assert.Equal($"payload {payload} is no longer a readable state file",
            _hive.QueryDb<string>("SELECT last_error FROM reminders WHERE id = @id", new { id }));
        Assert.Null(await alice.RecvAsync());
    }

    [Fact]
    public async Task Reminders_overdue_at_start_are_delivered_on_the_first_tick_in_due_order()
    {
        // A hive of its own, restarted: a scheduler that ticks once at start-up and then not for an hour, so whatever
        // is due is delivered by that first tick, or not at all.
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
        while (bodies.Count < 5) bodies.Add((await again.RecvMessageAsync(waitMs: 5_000))!.Body);
        Assert.Equal(["due -50s", "due -40s", "due -30s", "due -20s", "due -10s"], bodies);
        Assert.Equal(1, hive.Service<ReminderScheduler>().CompletedTicks);
    }
}
