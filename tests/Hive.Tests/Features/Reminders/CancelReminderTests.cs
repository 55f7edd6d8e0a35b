using static Hive.Tests.Features.Reminders.RemindersHive;

namespace Hive.Tests.Features.Reminders;

/// <summary>CancelReminder: the operator's DELETE removes a reminder before it is ever attempted.</summary>
[Collection(RemindersHive.Name)]
public sealed class CancelReminderTests(RemindersHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_cancelled_reminder_is_gone_and_never_attempted()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        await using var events = await _hive.OpenEventsAsync();
        var id = await RemindAsync(alice, new { op = "remind", body = "never", in_seconds = 5 }); // not due before the cancel, however slow the machine

        using var cancel = await _hive.Http.DeleteAsync($"/api/reminders/{id}");
        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        var cancelled = await events.WaitForAsync("reminder_cancelled", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(0, cancelled.Json.GetProperty("pending_reminders").GetInt64());

        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE agent = @name", new { name }));
        await fixture.WaitTicksAsync(30); // 6 s: past its due time
        Assert.Null(await alice.RecvAsync());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE kind = 'reminder' AND recipient = @name", new { name }));

        using var again = await _hive.Http.DeleteAsync($"/api/reminders/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        using var retryGone = await _hive.Http.PostAsync($"/api/reminders/{id}/retry", null);
        Assert.Equal(HttpStatusCode.NotFound, retryGone.StatusCode);
    }

    [Fact]
    public async Task Unknown_ids_are_404_and_malformed_ids_are_refused()
    {
        using var cancel = await _hive.Http.DeleteAsync("/api/reminders/987654");
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        Assert.Equal("application/problem+json", cancel.Content.Headers.ContentType?.MediaType);
        // A malformed id is the caller's mistake (400 bad_request), not an unknown reminder.
        using var malformed = await _hive.Http.DeleteAsync("/api/reminders/abc");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("bad_request", (await malformed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        using var huge = await _hive.Http.DeleteAsync("/api/reminders/99999999999999999999");
        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
    }
}
