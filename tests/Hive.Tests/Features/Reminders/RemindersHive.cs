using Hive.Features.Reminders;

namespace Hive.Tests.Features.Reminders;

/// <summary>
/// The one hive the Reminders slice tests share: a 200 ms tick and 3 attempts. Its classes run one after another; the
/// scheduler ticks for all of them, so each test works with agents and reminders of its own.
/// </summary>
public sealed class RemindersHive : HiveFixture
{
    public const string Name = "Reminders";
    public const int MaxAttempts = 3;

    protected override string[] Args => ["--Hive:Reminders:TickSeconds", "0.2", "--Hive:Reminders:MaxAttempts", MaxAttempts.ToString()];

    public long Ticks => Hive.Service<ReminderScheduler>().CompletedTicks;

    public async Task WaitTicksAsync(int count)
    {
        var target = Ticks + count;
        await HiveInstance.Until(() => Ticks >= target, TimeSpan.FromSeconds(count * 2 + 5), $"{count} ticks");
    }

    public static async Task<long> RemindAsync(AgentClient agent, object request)
    {
        var reply = await agent.CallAsync(request);
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        return reply.GetProperty("id").GetInt64();
    }
}

[CollectionDefinition(RemindersHive.Name)]
public sealed class RemindersCollection : ICollectionFixture<RemindersHive>;
