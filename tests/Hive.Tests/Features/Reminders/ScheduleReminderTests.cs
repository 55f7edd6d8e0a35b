namespace Hive.Tests.Features.Reminders;

/// <summary>ScheduleReminder: the remind verb refuses what it cannot schedule, with a code, and stores nothing.</summary>
[Collection(RemindersHive.Name)]
public sealed class ScheduleReminderTests(RemindersHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    /// <summary>{alice} is the agent that asks, {bob} another agent of the test (whose state dir holds bobs.md).</summary>
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
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":"/agents/{alice}/state/../private"}""", "forbidden" },
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":"/agents/{alice}/state/missing.md"}""", "forbidden" },
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":"/agents/{bob}/state/bobs.md"}""", "forbidden" }, // not alice's
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":""}""", "forbidden" },
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":42}""", "bad_request" },
    };

    [Theory]
    [MemberData(nameof(BadRemindRequests))]
    public async Task Bad_remind_requests_get_an_error_and_store_nothing(string line, string code)
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", names[1], "state", "bobs.md"), "bob's");
        await using var alice = await _hive.ConnectAsync(names[0]);
        var reply = await alice.CallRawAsync(line.Replace("BODY_TOO_LARGE", new string('x', Hive.Features.Reminders.ScheduleReminder.MaxFileBodyBytes + 1)).Replace("{alice}", names[0]).Replace("{bob}", names[1]));
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE agent = @alice", new { alice = names[0] }));
    }
}
