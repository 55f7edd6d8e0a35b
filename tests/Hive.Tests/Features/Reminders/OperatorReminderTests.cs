using Hive.Contracts.Json;
using Hive.Contracts.Reminders;

namespace Hive.Tests.Features.Reminders;

/// <summary>
/// ScheduleReminder over HTTP: the operator schedules a reminder for an agent (<c>POST /api/reminders</c>), validated as
/// the agent's own <c>remind</c> is, plus whom it is for; it fires to that agent from <c>reminder</c>.
/// </summary>
[Collection(RemindersHive.Name)]
public sealed class OperatorReminderTests(RemindersHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    private async Task<(HttpStatusCode Status, JsonElement Body, Uri? Location)> PostAsync(object body)
    {
        using var response = await _hive.Http.PostAsJsonAsync("/api/reminders", body);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response.Headers.Location);
    }

    [Fact]
    public async Task The_operator_schedules_a_reminder_that_fires_to_the_agent_from_reminder()
    {
        var alice = await _hive.NewAgentAsync("alice");
        await using var events = await _hive.OpenEventsAsync();
        var (status, reminder, location) = await PostAsync(new { to = alice, body = "standup", in_seconds = 0 });
        Assert.Equal(HttpStatusCode.Created, status);
        var created = reminder.Deserialize<ReminderView>(HiveJson.Options)!;
        var id = created.Id;
        Assert.Equal(alice, created.Agent);
        Assert.Equal($"/api/reminders/{id}", location?.ToString());
        await events.WaitForPayloadAsync<ReminderScheduledPayload>("reminder_scheduled", e => e.Reminder.Id == id);

        await using var agent = await _hive.ConnectAsync(alice);
        var message = (await agent.RecvMessageAsync(waitMs: 10_000))!;
        Assert.Equal("reminder", message.From);
        Assert.Equal("reminder", message.Kind);
        Assert.Equal(id, message.Extra!["reminder_id"].GetInt64()); // an extra field of the system message (no record names it)
        Assert.Equal("standup", message.Body);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task The_payload_is_the_agents_own_state_file_and_whom_it_is_for_must_be_a_live_agent()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", names[1], "state", "bobs.md"), "bob's");
        var bobs = $"/agents/{names[1]}/state/bobs.md";

        Assert.Equal(HttpStatusCode.Created, (await PostAsync(new { to = names[1], body = "read it", in_seconds = 60, payload_path = bobs })).Status);
        var (notHers, problem, _) = await PostAsync(new { to = names[0], body = "read it", in_seconds = 60, payload_path = bobs });
        Assert.Equal(HttpStatusCode.Forbidden, notHers);
        Assert.Equal("forbidden", Problem.Of(problem).Code);

        var (missing, noTo, _) = await PostAsync(new { body = "x", in_seconds = 1 });
        Assert.Equal(HttpStatusCode.BadRequest, missing);
        Assert.True(noTo.GetProperty("errors").TryGetProperty("to", out _), noTo.ToString()); // the validation errors have no record
        var (unknown, nobody, _) = await PostAsync(new { to = "nobody-" + Guid.NewGuid().ToString("N")[..6], body = "x", in_seconds = 1 });
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Equal("not_found", Problem.Of(nobody).Code);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(new { to = names[0], body = "x" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(new { to = names[0], body = "x", due_at = "tomorrow" })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(new { to = "operator", body = "x", in_seconds = 1 })).Status); // agents only
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE agent = @a", new { a = names[0] }));
    }
}
