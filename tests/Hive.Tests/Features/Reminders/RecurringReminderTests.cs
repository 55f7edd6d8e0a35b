using System.Net;
using System.Net.Http.Json;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Reminders;
using Hive.Features.Reminders;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Features.Reminders;

/// <summary>
/// Recurring reminders on a hive whose wall clock the test sets (timers still run in real time, so the
/// scheduler ticks every 200 ms and each tick sees the time the test gave it): a minute cron fires once a minute; a
/// run waits for the last one's acknowledgement unless overlap is <c>always</c>; runs missed while the host was down are
/// skipped or made up once; pause and resume; bad input refused. A hive of its own per test (its own clock).
/// </summary>
public sealed class RecurringReminderTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 10, 0, 30, TimeSpan.Zero);
    private readonly SettableClock _clock = new(Start);
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"],
        ["--Hive:Reminders:TickSeconds", "0.2", "--Hive:Reminders:MissedAfterSeconds", "10"],
        services => services.AddSingleton<TimeProvider>(_clock));

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private long Ticks => _hive.Service<ReminderScheduler>().CompletedTicks;

    /// <summary>Two whole ticks after now: whatever the clock's time makes due has been made and delivered.</summary>
    private async Task TwoTicksAsync()
    {
        var target = Ticks + 2;
        await HiveInstance.Until(() => Ticks >= target, TimeSpan.FromSeconds(20), "two scheduler ticks");
    }

    private static async Task<long> RecurringAsync(AgentClient agent, string body, string catchUp = "skip", string overlap = "skip_if_pending")
    {
        var reply = await agent.CallAsync(ReminderVerbs.Remind, new RemindArgs(body, null, null, null, "*/1 * * * *", null, catchUp, overlap));
        Assert.True(reply.Recurring);
        return reply.Id;
    }

    private Task<RecurringReminderView> RecurringViewAsync(long id) => _hive.GetAsync<RecurringReminderView>($"/api/reminders/recurring/{id}");

    private static DateTimeOffset At(int minute, int second = 1) => new(2026, 11, 23, 10, minute, second, TimeSpan.Zero);

    private List<string> Runs(long id) =>
        _hive.QueryDbList<string>("SELECT state FROM reminder_runs WHERE recurring_id = @id ORDER BY id", new { id });

    [Fact]
    public async Task A_minute_cron_fires_once_a_minute()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var reply = await alice.CallAsync(ReminderVerbs.Remind, new RemindArgs("look at CI", null, null, null, "*/1 * * * *", null, null, null));
        var id = reply.Id;
        Assert.Equal([At(1, 0), At(2, 0), At(3, 0)], reply.NextRuns!);

        await TwoTicksAsync();
        Assert.Null(await alice.RecvAsync()); // 10:00:30: nothing due yet

        for (var minute = 1; minute <= 3; minute++)
        {
            _clock.Set(At(minute));
            var run = await alice.RecvAndAckMessageAsync(10_000) ?? throw new TimeoutException($"no run at 10:0{minute}");
            Assert.Equal("look at CI", run.Body);
            Assert.Equal("reminder", run.From);
            Assert.Equal(id, run.Extra!["recurring_id"].GetInt64()); // an extra field of the reminder message
            await TwoTicksAsync();
            Assert.Null(await alice.RecvAsync()); // once a minute: the same minute makes no second run
        }
        Assert.Equal(["delivered", "delivered", "delivered"], Runs(id));

        var view = await RecurringViewAsync(id);
        Assert.Equal([At(4, 0), At(5, 0), At(6, 0)], view.NextRuns);
        Assert.Equal(At(3, 0), view.Runs[0].DueAt);
    }

    [Fact]
    public async Task A_run_waits_for_the_last_ones_acknowledgement_unless_overlap_is_always()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var waiting = await RecurringAsync(alice, "waits");
        var always = await RecurringAsync(bob, "always", overlap: "always");

        _clock.Set(At(1));
        var first = await alice.RecvMessageAsync(waitMs: 10_000) ?? throw new TimeoutException("alice's first run");
        Assert.NotNull(await bob.RecvAsync(waitMs: 10_000)); // received, never acknowledged
        _clock.Set(At(2));
        await TwoTicksAsync();
        Assert.Equal(["delivered", "skipped"], Runs(waiting)); // alice has not acknowledged the 10:01 run
        Assert.Equal(["delivered", "delivered"], Runs(always));

        await alice.AckAsync(first.Id);
        _clock.Set(At(3));
        var third = await alice.RecvMessageAsync(waitMs: 10_000) ?? throw new TimeoutException("alice's run after the acknowledgement");
        Assert.Equal("waits", third.Body);
        Assert.Equal(["delivered", "skipped", "delivered"], Runs(waiting));
    }

    [Fact]
    public async Task Five_minutes_down_make_one_run_with_catch_up_one_and_none_with_skip()
    {
        await using (var alice = await _hive.ConnectAsync("alice"))
        await using (var bob = await _hive.ConnectAsync("bob"))
        {
            await RecurringAsync(alice, "made up once", catchUp: "one");
            await RecurringAsync(bob, "skipped");
        }

        // Down from 10:00:30 to 10:05:30: the runs of 10:01 to 10:05 are all missed (over MissedAfterSeconds old).
        await _hive.RestartAsync(whileDown: () => _clock.Set(At(5, 30)));
        await using var aliceAgain = await _hive.ConnectAsync("alice");
        await using var bobAgain = await _hive.ConnectAsync("bob");
        var made = await aliceAgain.RecvAndAckMessageAsync(10_000) ?? throw new TimeoutException("the caught-up run");
        Assert.Equal("made up once", made.Body);
        Assert.Equal(5, made.Extra!["missed_runs"].GetInt32()); // an extra field of the reminder message
        await TwoTicksAsync();
        Assert.Null(await aliceAgain.RecvAsync()); // one run for all five
        Assert.Null(await bobAgain.RecvAsync());   // skip: none

        var bobs = (await _hive.GetAsync<List<RecurringReminderView>>("/api/reminders/recurring?agent=bob"))[0];
        var skipped = bobs.Runs[0];
        Assert.Equal("skipped", skipped.State);
        Assert.StartsWith("5 run(s) missed while the host was down", skipped.Note);

        // And on from there, once a minute again.
        _clock.Set(At(6));
        Assert.Equal("skipped", (await bobAgain.RecvAndAckMessageAsync(10_000))?.Body);
    }

    [Fact]
    public async Task Pause_stops_runs_and_resume_starts_again_from_now()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var id = await RecurringAsync(alice, "paused one");

        var refused = await bob.RefusalOfAsync(ReminderVerbs.RecurringPause, new RecurringIdArgs(id));
        Assert.Equal("forbidden", refused.Code);
        var paused = await alice.CallAsync(ReminderVerbs.RecurringPause, new RecurringIdArgs(id));
        Assert.Equal("paused", paused.State);
        Assert.Empty(paused.NextRuns);

        _clock.Set(At(1));
        await TwoTicksAsync();
        _clock.Set(At(2));
        await TwoTicksAsync();
        Assert.Null(await alice.RecvAsync());
        Assert.Empty(Runs(id));

        // The operator resumes it at 10:02:30: the next run is 10:03 (the paused minutes are not made up).
        _clock.Set(At(2, 30));
        using var resumed = await _hive.Http.PostAsync($"/api/reminders/recurring/{id}/resume", null);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        var view = (await resumed.Content.ReadFromJsonAsync<RecurringReminderView>(HiveJson.Options))!;
        Assert.Equal("active", view.State);
        Assert.Equal(At(3, 0), view.NextRuns[0]);
        // The snapshot has no record of its own; its recurring reminders are the recurring records.
        var state = await _hive.GetJsonAsync("/api/state");
        var shown = state.GetProperty("recurring_reminders").Deserialize<List<RecurringReminderView>>(HiveJson.Options)!.Single(r => r.Id == id);
        Assert.Equal(3, shown.NextRuns.Count);

        await TwoTicksAsync();
        Assert.Null(await alice.RecvAsync());
        _clock.Set(At(3));
        Assert.Equal("paused one", (await alice.RecvAndAckMessageAsync(10_000))?.Body);

        // Cancelled by its agent: no more runs, and it is gone with its history.
        await alice.CallAsync(ReminderVerbs.RecurringCancel, new RecurringIdArgs(id));
        _clock.Set(At(4));
        await TwoTicksAsync();
        Assert.Null(await alice.RecvAsync());
        Assert.Empty(Runs(id));
        using var gone = await _hive.Http.GetAsync($"/api/reminders/recurring/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Theory]
    [InlineData("""{"op":"remind","body":"x","cron":"* * * * * *"}""", "five fields")]
    [InlineData("""{"op":"remind","body":"x","cron":"61 * * * *"}""", "cron is not a valid expression")]
    [InlineData("""{"op":"remind","body":"x","cron":"* * * * *","time_zone":"Mars/Olympus"}""", "IANA time zone")]
    [InlineData("""{"op":"remind","body":"x","cron":"* * * * *","time_zone":"../../etc/passwd"}""", "IANA time zone")]
    [InlineData("""{"op":"remind","body":"x","cron":"* * * * *","time_zone":"Europe"}""", "IANA time zone")]
    [InlineData("""{"op":"remind","body":"x","cron":"* * * * *","in_seconds":5}""", "not both")]
    [InlineData("""{"op":"remind","body":"x","cron":"* * * * *","catch_up":"all"}""", "catch_up must be one of skip, one")]
    [InlineData("""{"op":"remind","body":"x","cron":"* * * * *","overlap":"never"}""", "overlap must be one of")]
    [InlineData("""{"op":"remind","body":"x","catch_up":"one","in_seconds":5}""", "cron is required")]
    [InlineData("""{"op":"remind","body":"x","cron":"0 0 30 2 *"}""", "never fires")]
    // Reversed ranges (which Cronos reads as wrapping round: 1-0 fired every minute), zero steps and ranges out of their field.
    [InlineData("""{"op":"remind","body":"x","cron":"1-0 * * * *"}""", "minute range '1-0' runs backwards")]
    [InlineData("""{"op":"remind","body":"x","cron":"0 5-1 * * *"}""", "hour range '5-1' runs backwards")]
    [InlineData("""{"op":"remind","body":"x","cron":"0 0 20-10 * *"}""", "day-of-month range '20-10' runs backwards")]
    [InlineData("""{"op":"remind","body":"x","cron":"0 0 * 12-1 *"}""", "month range '12-1' runs backwards")]
    [InlineData("""{"op":"remind","body":"x","cron":"0 0 * DEC-JAN *"}""", "month range 'DEC-JAN' runs backwards")]
    [InlineData("""{"op":"remind","body":"x","cron":"0 0 * * 5-1"}""", "day-of-week range '5-1' runs backwards")]
    [InlineData("""{"op":"remind","body":"x","cron":"0 0 * * fri-mon"}""", "day-of-week range 'fri-mon' runs backwards")]
    [InlineData("""{"op":"remind","body":"x","cron":"0,30-10/5 * * * *"}""", "minute range '30-10' runs backwards")]
    [InlineData("""{"op":"remind","body":"x","cron":"*/0 * * * *"}""", "minute step")]
    [InlineData("""{"op":"remind","body":"x","cron":"0 1-5/0 * * *"}""", "hour step")]
    [InlineData("""{"op":"remind","body":"x","cron":"5-70 * * * *"}""", "cron is not a valid expression")]
    [InlineData("""{"op":"remind","body":"x","cron":"0 0 * * 1-9"}""", "cron is not a valid expression")]
    public async Task Bad_recurring_reminders_are_refused_and_change_nothing(string request, string reason)
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var reply = await alice.CallAsync(JsonDocument.Parse(request).RootElement);
        Assert.False(reply.GetProperty("ok").GetBoolean(), reply.ToString()); // the request's exact line, so the reply raw
        Assert.Contains(reason, reply.Deserialize<Refusal>(HiveJson.Options)!.Error);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM recurring_reminders"));
    }

    [Fact]
    public async Task The_operator_is_refused_a_reversed_range_with_validation_and_forward_ranges_still_read()
    {
        using (var reversed = await _hive.Http.PostAsJsonAsync("/api/reminders", new { to = "alice", body = "x", cron = "1-0 * * * *" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, reversed.StatusCode);
            var problem = Problem.Of(await reversed.Content.ReadFromJsonAsync<JsonElement>());
            Assert.Equal("validation", problem.Code);
            Assert.Contains("runs backwards", problem.Detail);
        }
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM recurring_reminders"));

        await using var alice = await _hive.ConnectAsync("alice");
        foreach (var cron in new[] { "0-59/15 * * * *", "0 9-17 * * MON-FRI", "0 0 1-7 JAN-MAR 0-7", "5/20 * * * *" })
        {
            var reply = await alice.CallAsync(new { op = "remind", body = cron, cron });
            Assert.True(reply.GetProperty("ok").GetBoolean(), $"{cron}: {reply}");
        }
    }

    [Fact]
    public async Task A_long_body_is_refused_and_the_operator_sets_one_up_for_an_agent_in_a_time_zone()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var tooLong = await alice.RefusalOfAsync(ReminderVerbs.Remind, new RemindArgs(new string('x', 1025), null, null, null, "0 9 * * *", null, null, null));
        Assert.Equal("too_large", tooLong.Code);

        using var created = await _hive.Http.PostAsJsonAsync("/api/reminders",
            new { to = "alice", body = "stand-up", cron = "0 9 * * 1-5", time_zone = "Europe/Berlin" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var view = (await created.Content.ReadFromJsonAsync<RecurringReminderView>(HiveJson.Options))!;
        // Monday 23 November 2026, 10:00:30 UTC: 09:00 in Berlin (UTC+1) is 08:00 UTC, from Tuesday on.
        Assert.Equal(
            [new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero), new(2026, 11, 25, 8, 0, 0, TimeSpan.Zero), new(2026, 11, 26, 8, 0, 0, TimeSpan.Zero)],
            view.NextRuns);
        Assert.Equal("skip", view.CatchUp);
        Assert.Equal("skip_if_pending", view.Overlap);

        using var unknown = await _hive.Http.PostAsync("/api/reminders/recurring/999/pause", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_schedule_that_no_longer_reads_is_paused_and_the_rest_go_on_and_a_gone_agent_makes_no_runs()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var broken = await RecurringAsync(alice, "broken");
        var orphan = await RecurringAsync(alice, "orphan");
        // As if an upgrade dropped its zone; and as if its agent were destroyed (the row names an agent not live).
        _hive.ExecuteDb($"UPDATE recurring_reminders SET time_zone = 'Gone/Zone' WHERE id = {broken}");
        _hive.ExecuteDb($"UPDATE recurring_reminders SET agent = 'nobody-here' WHERE id = {orphan}");
        await alice.CallAsync(ReminderVerbs.Remind, new RemindArgs("one-off", 30, null, null, null, null, null, null));

        _clock.Set(At(1));
        Assert.Equal("one-off", (await alice.RecvAndAckMessageAsync(10_000))?.Body);
        await TwoTicksAsync();
        var view = await RecurringViewAsync(broken);
        Assert.Equal("paused", view.State);
        Assert.Empty(view.NextRuns);
        Assert.StartsWith("paused: the schedule no longer reads", view.Runs[0].Note);
        Assert.Empty(Runs(orphan));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders"));
        Assert.Equal(At(2, 0), _hive.QueryDb<DateTimeOffset>($"SELECT next_due_at FROM recurring_reminders WHERE id = {orphan}"));
        using var resume = await _hive.Http.PostAsync($"/api/reminders/recurring/{broken}/resume", null);
        Assert.Equal(HttpStatusCode.Conflict, resume.StatusCode);
    }

    /// <summary>The wall clock the test sets; timers and timestamps are the system's.</summary>
    private sealed class SettableClock(DateTimeOffset start) : TimeProvider
    {
        private long _ticks = start.UtcTicks;

        public void Set(DateTimeOffset at) => Interlocked.Exchange(ref _ticks, at.UtcTicks);

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    }
}
