namespace Hive.Tests.Features.Reminders;

/// <summary>
/// DeliverDueReminders across crashes: the host as a child process, killed with SIGKILL at random moments while
/// 1 000 reminders fall due: after the last restart every reminder was delivered exactly once and the database is
/// intact. Hosts of its own (child processes it kills), in a class of its own so it runs beside the other tests.
/// </summary>
public sealed class DeliverDueRemindersCrashTests : IAsyncLifetime
{
    private const int Reminders = 1000;
    private const int Kills = 20;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-crash-" + Guid.NewGuid().ToString("N")[..12]);

    // A high attempt cap: a kill may land on the same reminder more than once, and this test is about exactly-once.
    private static readonly string[] Args = ["--Hive:Reminders:TickSeconds", "0.05", "--Hive:Reminders:MaxAttempts", "1000"];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Every_reminder_is_delivered_exactly_once_across_twenty_SIGKILLs()
    {
        var result = await ReminderCrashRun.RunAsync(_dataDir, Reminders, Kills, new Random(20261121), Args);
        Assert.Equal(Kills, result.Kills);
        Assert.True(result.KilledMidDelivery >= Kills / 2, $"only {result.KilledMidDelivery} kills landed while reminders were falling due");
        Assert.Empty(result.Duplicates);
        Assert.Equal(Reminders, result.Delivered);
        Assert.Equal(0, result.Remaining);
        Assert.Equal("ok", result.IntegrityCheck);
    }
}

/// <summary>The crash run itself (the benchmark's <c>crash-soak</c> mode does the same with a count and more to report).</summary>
public static class ReminderCrashRun
{
    public sealed record Outcome(int Kills, int KilledMidDelivery, int Delivered, IReadOnlyList<long> Duplicates, long Remaining, string IntegrityCheck);

    public static async Task<Outcome> RunAsync(string dataDir, int reminders, int kills, Random random, string[] args)
    {
        string[] agents = ["alice"];
        // Each life of the host schedules its share of the reminders to fall due over the next ~half second, then
        // is killed at a random moment inside that window; whatever it did not deliver is overdue for the next life.
        var perLife = reminders / kills;
        var killedMidDelivery = 0;
        var scheduled = 0;
        for (var k = 0; k < kills; k++)
        {
            await using var host = await HostProcess.StartAsync(dataDir, agents, extraArgs: args);
            var windowStart = DateTimeOffset.UtcNow.AddMilliseconds(400); // room to schedule, even on a loaded machine
            await using (var alice = await host.ConnectAsync("alice"))
            {
                var count = k == kills - 1 ? reminders - scheduled : perLife;
                for (var i = 0; i < count; i++, scheduled++)
                {
                    var reply = await alice.CallAsync(new { op = "remind", body = $"r{scheduled}", due_at = windowStart.AddMilliseconds(i * 450.0 / count) });
                    if (!reply.GetProperty("ok").GetBoolean()) throw new InvalidOperationException(reply.ToString());
                }
            }
            // Pull the plug at a random moment of the window in which this life's reminders fall due.
            var wait = windowStart - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(random.Next(0, 450));
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            var before = Remaining(dataDir);
            await host.KillAsync();
            if (before > 0) killedMidDelivery++;
        }

        await using (var final = await HostProcess.StartAsync(dataDir, agents, extraArgs: args))
        {
            await HiveInstance.Until(() => Remaining(dataDir) == 0, TimeSpan.FromSeconds(60), "every reminder delivered");
            await final.TerminateAsync(TimeSpan.FromSeconds(20));
        }

        var delivered = HiveInstance.QueryDbList<long>(dataDir,
            "SELECT json_extract(meta, '$.reminder_id') FROM messages WHERE kind = 'reminder'");
        var duplicates = delivered.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        return new Outcome(kills, killedMidDelivery, delivered.Distinct().Count(), duplicates, Remaining(dataDir),
            HiveInstance.QueryDb<string>(dataDir, "PRAGMA integrity_check"));
    }

    private static long Remaining(string dataDir) => HiveInstance.QueryDb<long>(dataDir, "SELECT count(*) FROM reminders");
}
