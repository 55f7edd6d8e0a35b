using static Hive.Tests.Features.Reminders.RemindersHive;

namespace Hive.Tests.Features.Reminders;

/// <summary>ListReminders: the snapshot's reminders and each agent's pending count.</summary>
[Collection(RemindersHive.Name)]
public sealed class ListRemindersTests(RemindersHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task The_snapshot_lists_reminders_and_each_agents_pending_count()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(names[0]);
        await RemindAsync(alice, new { op = "remind", body = "one", in_seconds = 3600 });
        await RemindAsync(alice, new { op = "remind", body = "two", in_seconds = 7200 });

        var state = await _hive.GetJsonAsync("/api/state");
        var reminders = state.GetProperty("reminders").EnumerateArray().Where(r => r.GetProperty("agent").GetString() == names[0]).ToList();
        Assert.Equal(["one", "two"], reminders.Select(r => r.GetProperty("body").GetString()));
        var agents = state.GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!, a => a.GetProperty("pending_reminders").GetInt64());
        Assert.Equal(2, agents[names[0]]);
        Assert.Equal(0, agents[names[1]]);
        var reminder = reminders[0];
        foreach (var field in new[] { "id", "agent", "due_at", "body", "body_refs", "payload_path", "payload_refs", "attempt_count", "last_error", "created_at" })
            Assert.True(reminder.TryGetProperty(field, out _), field);
    }
}
