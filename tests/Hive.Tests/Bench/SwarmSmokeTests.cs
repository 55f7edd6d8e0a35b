using System.Text.RegularExpressions;

namespace Hive.Tests.Bench;

/// <summary>
/// The swarm bench's smoke test: the built benchmark's <c>swarm</c> mode, short (<c>--minutes 1 --agents 10 --kills 1</c>),
/// as a child process (<see cref="BenchRun"/>): its agents' model calls go through the host's gateway to the bench's fake
/// provider. Its verdict is the assertion: no message lost, duplicates only as flagged redeliveries, turns ran, model calls
/// served and every one metered once (but those a host kill cut before their booking), and the floor measured (calls through
/// the bare forwarder). No timing is asserted;
/// the deadline is generous for a loaded two-core machine, and the bench's whole process tree is killed if it passes.
/// </summary>
public sealed partial class SwarmSmokeTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-swarm-smoke-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => TestDirectories.DeleteAsync(_dir);

    [GeneratedRegex(@"^data dir: (\S+)/hive$", RegexOptions.Multiline)]
    private static partial Regex DataDirLine();

    [Fact]
    public async Task A_short_swarm_through_the_gateway_with_a_host_kill_loses_nothing_and_meters_each_served_call_once()
    {
        // A minute of traffic, the host's restart, a drain of at most 3 minutes and the start-up: well within 12 minutes.
        var run = await BenchRun.StartAsync(["swarm", "--minutes", "1", "--agents", "10", "--kills", "1"], _dir, TimeSpan.FromMinutes(12));
        string Output() => run.Output;

        var resultFile = Path.Combine(_dir, "swarm-result.json");
        Assert.True(File.Exists(resultFile), $"exit {run.ExitCode}, no swarm-result.json:\n{Output()}");
        var result = JsonDocument.Parse(await File.ReadAllTextAsync(resultFile)).RootElement;
        var messages = result.GetProperty("messages");
        Assert.True(messages.GetProperty("sent").GetInt32() > 0, Output());
        Assert.True(messages.GetProperty("lost").GetInt32() == 0, Output());
        Assert.True(messages.GetProperty("duplicated_unflagged").GetInt32() == 0, Output());
        Assert.True(messages.GetProperty("committed_twice").GetInt32() == 0, Output());
        Assert.True(result.GetProperty("turns").GetProperty("started_total").GetInt32() > 0, Output());
        Assert.True(result.GetProperty("drained").GetBoolean(), Output());
        var calls = result.GetProperty("model_calls");
        Assert.True(calls.GetProperty("served").GetInt32() > 0, Output());
        Assert.True(calls.GetProperty("client_calls").GetInt32() > 0, Output());
        Assert.True(calls.GetProperty("client_forwarder_calls").GetInt32() > 0, $"no call measured the bare forwarder's floor:\n{Output()}");
        Assert.True(calls.GetProperty("booked_twice").GetInt32() == 0, Output());
        Assert.True(calls.GetProperty("metered_not_served").GetInt32() == 0, Output());
        Assert.True(calls.GetProperty("served_not_metered_outside_kills").GetInt32() == 0, Output());
        Assert.True(calls.GetProperty("metered_equals_served_minus_cut_by_kills").GetBoolean(), Output());
        Assert.True(run.ExitCode == 0, Output());
        if (DataDirLine().Match(Output()) is { Success: true } dataDir) Assert.False(Directory.Exists(dataDir.Groups[1].Value), "the bench left its temp dir");
    }
}
