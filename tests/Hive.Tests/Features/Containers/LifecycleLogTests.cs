using Microsoft.Extensions.Logging;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The host log has a line for each step of an agent's life (it runs, it crashed, the policy restarts it, it stopped),
/// in the Containers feature's category, and never its command's arguments or its environment's values. A hive of its
/// own: the test hives log warnings and up, and this one logs the Containers feature at Information, as the default
/// configuration does.
/// </summary>
public sealed class LifecycleLogTests
{
    [Fact]
    public async Task Start_crash_restart_and_stop_are_one_line_each_without_arguments_or_env_values()
    {
        await using var hive = await HiveInstance.StartAsync([],
            "--Logging:LogLevel:Hive.Features.Containers", "Information", "--Hive:Containers:RestartBackoffSeconds", "0.05");
        // What "auto" means here was said at start-up, before any agent asked for it.
        await HiveInstance.Until(() => hive.Logs.Lines.Any(l => l.Text.Contains("the auto driver", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "the auto driver's line");
        await using var events = await hive.OpenEventsAsync();
        const string name = "logged";
        const string argument = "an-argument-not-for-the-log-5c1e";
        const string value = "an-env-value-not-for-the-log-9a7d";
        // Exits 3 on its first life (it leaves a mark in its state dir, its working dir), then stays up.
        await CreateAsync(hive.Http, new
        {
            name, driver = "process", restart = "on-failure", env = new Dictionary<string, string> { ["NOT_LOGGED"] = value },
            command = new[] { "/bin/sh", "-c", "if [ -e ran ]; then exec sleep 1000; fi; : > ran; exit 3", argument },
        });
        await NextRowAsync(events, name, r => r.State() == "running" && r.GetProperty("restarts").GetInt32() == 1 && r.Transient() is null);
        var (status, _) = await PostAsync(hive.Http, $"/api/agents/{name}/stop");
        Assert.Equal(System.Net.HttpStatusCode.OK, status);

        var lines = hive.Logs.Lines.Where(l => l.Category.StartsWith("Hive.Features.Containers", StringComparison.Ordinal)).ToList();
        var about = lines.Where(l => l.Text.Contains(name, StringComparison.Ordinal)).Select(l => (l.Level, l.Text)).ToList();
        Assert.Equal(2, about.Count(l => l.Level == LogLevel.Information && l.Text.StartsWith($"containers: {name} is running (pid ", StringComparison.Ordinal)));
        Assert.Single(about, l => l.Level == LogLevel.Warning && l.Text.StartsWith($"containers: {name} exited (3/", StringComparison.Ordinal));
        Assert.Single(about, l => l.Level == LogLevel.Information && l.Text.StartsWith($"containers: restarting {name} (restart policy", StringComparison.Ordinal));
        Assert.Single(about, l => l.Level == LogLevel.Information && l.Text.StartsWith($"containers: {name} stopped", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Text.Contains("the auto driver", StringComparison.Ordinal));
        Assert.DoesNotContain(hive.Logs.Lines, l => l.Text.Contains(argument, StringComparison.Ordinal) || l.Text.Contains(value, StringComparison.Ordinal));

        await DestroyAsync(hive, name);
    }
}
