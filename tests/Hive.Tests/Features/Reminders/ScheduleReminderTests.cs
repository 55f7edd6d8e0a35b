using Hive.Features.Reminders;

namespace Hive.Tests.Features.Reminders;

/// <summary>
/// ScheduleReminder refuses what it cannot schedule, with a code, and stores nothing: the rules in process (the
/// use case as a route or the verb sends it), the wire's own refusals (JSON that does not bind) over the socket.
/// </summary>
[Collection(RemindersHive.Name)]
public sealed class ScheduleReminderTests(RemindersHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    /// <summary>Each case as alice asks it; bob is another agent of the test, whose state dir holds bobs.md.</summary>
    private static readonly Dictionary<string, (Func<string, string, ScheduleReminder.Command> Command, string Code)> Rules = new()
    {
        ["empty body"] = ((alice, _) => new(alice, "", 1, null, null), "validation"),
        ["no body"] = ((alice, _) => new(alice, null, 1, null, null), "validation"),
        ["body over the file limit"] = ((alice, _) => new(alice, new string('x', ScheduleReminder.MaxFileBodyBytes + 1), 1, null, null), "too_large"),
        ["no time"] = ((alice, _) => new(alice, "x", null, null, null), "validation"),
        ["both times"] = ((alice, _) => new(alice, "x", 1, DateTimeOffset.Parse("2030-01-01T00:00:00Z"), null), "validation"),
        ["negative delay"] = ((alice, _) => new(alice, "x", -1, null, null), "validation"),
        ["delay past ten years"] = ((alice, _) => new(alice, "x", 1e12, null, null), "validation"),
        ["due past ten years"] = ((alice, _) => new(alice, "x", null, DateTimeOffset.Parse("9999-12-31T00:00:00Z"), null), "validation"),
        ["payload outside the state dirs"] = ((alice, _) => new(alice, "x", 1, null, "/etc/passwd"), "forbidden"),
        ["payload climbing out"] = ((alice, _) => new(alice, "x", 1, null, $"/agents/{alice}/state/../private"), "forbidden"),
        ["payload missing"] = ((alice, _) => new(alice, "x", 1, null, $"/agents/{alice}/state/missing.md"), "forbidden"),
        ["payload of another agent"] = ((alice, bob) => new(alice, "x", 1, null, $"/agents/{bob}/state/bobs.md"), "forbidden"),
        ["empty payload path"] = ((alice, _) => new(alice, "x", 1, null, ""), "forbidden"),
    };

    public static TheoryData<string> RuleCases => new(Rules.Keys);

    [Theory]
    [MemberData(nameof(RuleCases))]
    public async Task A_reminder_the_rules_refuse_gets_its_code_and_stores_nothing(string rule)
    {
        var (alice, bob) = await AliceAndBobAsync();
        var (command, code) = Rules[rule];

        var refusal = await _hive.RefusalOfAsync(command(alice, bob));

        Assert.Equal(code, refusal.Code);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE agent = @alice", new { alice }));
    }

    public static TheoryData<string, string> WireRefusals => new()
    {
        { """{"op":"remind","body":"","in_seconds":1}""", "validation" }, // a rule's refusal, as the socket words it
        { """{"op":"remind","body":"x","in_seconds":"soon"}""", "bad_request" },
        { """{"op":"remind","body":"x","due_at":"tomorrow"}""", "bad_request" },
        { """{"op":"remind","body":"x","due_at":"12:00"}""", "bad_request" },
        { """{"op":"remind","body":"x","due_at":"2030-01-01T00:00:00"}""", "bad_request" }, // no zone
        { """{"op":"remind","body":"x","in_seconds":1,"payload_path":42}""", "bad_request" },
    };

    [Theory]
    [MemberData(nameof(WireRefusals))]
    public async Task A_remind_line_that_does_not_bind_gets_an_error_on_the_socket_and_stores_nothing(string line, string code)
    {
        var (alice, _) = await AliceAndBobAsync();
        await using var socket = await _hive.ConnectAsync(alice);

        var reply = await socket.CallRawAsync(line);

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE agent = @alice", new { alice }));
    }

    private async Task<(string Alice, string Bob)> AliceAndBobAsync()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", names[1], "state", "bobs.md"), "bob's");
        return (names[0], names[1]);
    }
}
