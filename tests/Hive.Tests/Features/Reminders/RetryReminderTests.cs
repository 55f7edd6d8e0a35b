using static Hive.Tests.Features.Reminders.RemindersHive;

namespace Hive.Tests.Features.Reminders;

/// <summary>RetryReminder: the operator resets a reminder that has failed MaxAttempts times, and it is attempted again.</summary>
[Collection(RemindersHive.Name)]
public sealed class RetryReminderTests(RemindersHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_reminder_left_alone_after_MaxAttempts_is_retried_at_once_with_its_counters_reset()
    {
        await using var events = await _hive.OpenEventsAsync();
        var id = await DeliverDueRemindersTests.ReminderOfARemovedAgentAsync(_hive);
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT attempt_count FROM reminders WHERE id = @id", new { id }) == MaxAttempts,
            TimeSpan.FromSeconds(30), "MaxAttempts failures");
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
            await events.WaitForAsync("reminder_failed", e => e.GetProperty("id").GetInt64() == id && e.GetProperty("attempt_count").GetInt32() == attempt);

        // Retry: the counters reset and a new attempt follows (left alone, a reminder past MaxAttempts is never attempted again).
        // How many ticks that takes is not asserted: on a loaded machine the tick loop runs while the request and its events travel.
        using var retry = await _hive.Http.PostAsync($"/api/reminders/{id}/retry", null);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(0, (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("attempt_count").GetInt32());
        await events.WaitForAsync("reminder_reset", e => e.GetProperty("reminder").GetProperty("id").GetInt64() == id);
        var again = await events.WaitForAsync("reminder_failed", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(1, again.Json.GetProperty("attempt_count").GetInt32());
    }

    [Fact]
    public async Task An_unknown_id_is_404()
    {
        using var retry = await _hive.Http.PostAsync("/api/reminders/987654/retry", null);
        Assert.Equal(HttpStatusCode.NotFound, retry.StatusCode);
    }
}
