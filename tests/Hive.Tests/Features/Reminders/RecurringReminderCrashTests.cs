namespace Hive.Tests.Features.Reminders;

/// <summary>
/// Recurring reminders across SIGKILL: the host as a child process, killed at random moments while the runs
/// of 1 200 minute-by-minute recurring reminders are made and delivered. While the host is down, each life's share is
/// set back five minutes: the host finds their runs missed, makes one for each (<c>catch_up: one</c>), and never
/// another while that one is unacknowledged (<c>overlap: skip_if_pending</c>; nobody acknowledges here). After the last
/// restart every recurring reminder delivered exactly one run, whatever the kills cut short.
/// </summary>
public sealed class RecurringReminderCrashTests : IAsyncLifetime
{
    private const int PerLife = 150;
    private const int Kills = 8;
    private const int Recurring = PerLife * Kills;
    private const string Far = "2099-01-01T00:00:00.000Z"; // a run of "* * * * *" the test will never reach
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-recurring-crash-" + Guid.NewGuid().ToString("N")[..12]);
    private static readonly string[] Agents = ["alice"];
    private static readonly string[] Args =
        ["--Hive:Reminders:TickSeconds", "0.05", "--Hive:Reminders:MaxAttempts", "1000", "--Hive:Reminders:MaxRecurringPerAgent", "2000"];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await TestDirectories.DeleteAsync(_dataDir);

    [Fact]
    public async Task Every_recurring_reminder_delivers_its_run_exactly_once_across_SIGKILLs()
    {
        var random = new Random(20261123);
        await using (var host = await HostProcess.StartAsync(_dataDir, Agents, extraArgs: Args))
        {
            await using (var alice = await host.ConnectAsync("alice"))
                for (var i = 0; i < Recurring; i++)
                    AgentClient.Ok(await alice.CallAsync(new { op = "remind", body = $"r{i}", cron = "* * * * *", catch_up = "one" }));
            await host.KillAsync();
        }
        // Out of reach until their life (a real minute may have passed meanwhile: those runs are delivered already and count).
        HiveInstance.QueryDbList<long>(_dataDir, "UPDATE recurring_reminders SET next_due_at = @Far RETURNING id", new { Far });

        var killedMidRun = 0;
        for (var life = 0; life < Kills; life++)
        {
            var now = DateTimeOffset.UtcNow;
            var fiveMinutesAgo = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(-5);
            HiveInstance.QueryDbList<long>(_dataDir, "UPDATE recurring_reminders SET next_due_at = @due WHERE id > @from AND id <= @to RETURNING id",
                new { due = fiveMinutesAgo.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"), from = life * PerLife, to = (life + 1) * PerLife });
            // The host's first tick makes the runs at start-up: once they are seen being made, pull the plug a random few
            // milliseconds later.
            await using var host = HostProcess.Launch(_dataDir, Agents, Args);
            var upTo = (life + 1) * PerLife;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (RunsOf(life) == 0 && Undelivered(upTo) > 0)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"life {life}: no run made within 60 s:\n{host.Output}");
                await Task.Delay(1);
            }
            await Task.Delay(random.Next(0, 10));
            var undone = Undelivered(upTo);
            await host.KillAsync();
            if (undone > 0) killedMidRun++;
        }

        await using (var final = await HostProcess.StartAsync(_dataDir, Agents, extraArgs: Args))
        {
            await HiveInstance.Until(() => Undelivered(Recurring) == 0, TimeSpan.FromSeconds(60), "every recurring reminder's run delivered");
            await final.TerminateAsync(TimeSpan.FromSeconds(20));
        }

        var delivered = HiveInstance.QueryDbList<long>(_dataDir,
            "SELECT json_extract(meta, '$.recurring_id') FROM messages WHERE kind = 'reminder' AND json_extract(meta, '$.recurring_id') IS NOT NULL");
        Assert.Empty(delivered.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key));
        Assert.Equal(Recurring, delivered.Distinct().Count());
        Assert.Equal(Recurring, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM reminder_runs WHERE state = 'delivered'"));
        Assert.Equal(0, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM reminder_runs WHERE state NOT IN ('delivered', 'skipped')"));
        Assert.Equal(0, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM reminders"));
        // That the kills cut something short, not how many: a life's runs are made and delivered in a few short changes, and
        // on a busy machine the test sees them late (3 of 8 landed mid-run at load 30; most do near idle).
        Assert.True(killedMidRun >= 1, $"none of {Kills} kills landed while runs were being made or delivered");
        Assert.Equal("ok", HiveInstance.QueryDb<string>(_dataDir, "PRAGMA integrity_check"));
    }

    private long RunsOf(int life) => HiveInstance.QueryDb<long>(_dataDir,
        "SELECT count(*) FROM reminder_runs WHERE recurring_id > @from AND recurring_id <= @to", new { from = life * PerLife, to = (life + 1) * PerLife });

    /// <summary>Recurring reminders up to <paramref name="upTo"/> with no run delivered yet.</summary>
    private long Undelivered(int upTo) => HiveInstance.QueryDb<long>(_dataDir, """
        SELECT count(*) FROM recurring_reminders r WHERE r.id <= @upTo
        AND NOT EXISTS (SELECT 1 FROM reminder_runs WHERE recurring_id = r.id AND state = 'delivered')
        """, new { upTo });
}
