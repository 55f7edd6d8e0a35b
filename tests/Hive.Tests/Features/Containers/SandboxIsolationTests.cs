using Hive.Tests.Infrastructure;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The bubblewrap driver's view, proven from inside: an agent that goes looking for the database, the operator token,
/// another agent's files, other sockets and the host's processes finds nothing; its own state dir, <c>/shared</c> and
/// its socket are there, and the system is read-only.
/// </summary>
public sealed class SandboxIsolationTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task The_same_probes_under_the_process_driver_reach_the_database_and_the_token_so_they_can_tell()
    {
        // The process driver isolates nothing (for agents you trust): proof that the probes below would see a leak.
        var (probes, lines) = await RunProbesAsync("wanderer", "process");
        Assert.Equal("reached", lines["db-host"]);
        Assert.Equal("reached", lines["token"]);
        Assert.Equal("reached", lines["other-host"]);
        Assert.Equal("reached", lines["host-process"]);
        Assert.NotEmpty(probes);
    }

    [Fact]
    public async Task An_agent_in_the_sandbox_reaches_its_own_things_and_nothing_else()
    {
        const string name = "prisoner";
        var (probes, lines) = await RunProbesAsync(name, "bubblewrap");

        Assert.All(probes, p => Assert.True(lines[p] == "denied", $"{p}: {lines[p]}"));
        Assert.InRange(int.Parse(lines["pids"]), 1, 6); // its own pid namespace: bwrap's init, the shell, ls
        Assert.Equal("ok", lines["own"]);
        Assert.Equal("ok", lines["shared"]);
        Assert.Equal("ok", lines["socket"]);
        Assert.Equal($"{name}.sock ", lines["sockets"]);
        Assert.False(File.Exists($"/usr/hive-was-here-{name}"));
    }

    /// <summary>Runs the probes as agent <paramref name="name"/> under <paramref name="driver"/>: the probe keys, and every result line.</summary>
    private async Task<(IReadOnlyList<string> Probes, Dictionary<string, string> Lines)> RunProbesAsync(string name, string driver)
    {
        var other = await _hive.NewAgentAsync("other");
        var otherState = Path.Combine(_hive.DataDir, "agents", other, "state");
        await File.WriteAllTextAsync(Path.Combine(otherState, "secret.txt"), "other's secret");
        var data = _hive.DataDir;
        var probes = new (string Key, string Command)[]
        {
            ("db-host", $"cat '{data}/hive.db'"),
            ("db-any", "find / -xdev -name hive.db 2>/dev/null | grep -q ."),
            ("token", $"cat '{data}/operator-token'"),
            ("token-any", "find / -xdev -name operator-token 2>/dev/null | grep -q ."),
            ("other-host", $"cat '{otherState}/secret.txt'"),
            ("other-container", $"cat /agents/{other}/state/secret.txt"),
            ("other-listing", $"ls /agents/{other}"),
            ("other-socket", $"test -e /run/hive/{other}.sock || test -e '{data}/run/{other}.sock'"),
            ("host-process", $"cat /proc/{Environment.ProcessId}/cmdline"),
            ("host-process-environ", $"cat /proc/{Environment.ProcessId}/environ"),
            ("work-tree", $"ls '{AppContext.BaseDirectory}'"),
            ("system-write", "touch /usr/hive-was-here-$HIVE_AGENT"),
            ("etc-shadow", "cat /etc/shadow"),
        }.Where(p => driver == "bubblewrap" || !p.Key.EndsWith("-any", StringComparison.Ordinal)).ToArray(); // a search of the whole host is slow
        var script = "exec > probes.txt 2>/dev/null\n"
            + string.Concat(probes.Select(p => $"if {p.Command} >/dev/null 2>&1; then echo '{p.Key}:reached'; else echo '{p.Key}:denied'; fi\n"))
            + "echo \"pids:$(ls /proc | grep -c '^[0-9]')\"\n"
            + "echo written > \"$HIVE_STATE_DIR/own.txt\" && cat \"$HIVE_STATE_DIR/own.txt\" >/dev/null && echo own:ok\n"
            + "echo shared > \"$HIVE_SHARED_DIR/from-$HIVE_AGENT.txt\" && echo shared:ok\n"
            + "test -S \"$HIVE_SOCKET\" && echo socket:ok\n"
            + "echo \"sockets:$(ls /run/hive | tr '\\n' ' ')\"\n"
            + "echo done\n";
        try
        {
            await CreateAsync(_hive.Http, Shell(name, driver, script));
            var results = Path.Combine(_hive.DataDir, "agents", name, "state", "probes.txt");
            await HiveInstance.Until(() => File.Exists(results) && File.ReadAllText(results).Contains("done"), TimeSpan.FromSeconds(30), "the probes to finish");
            var lines = File.ReadAllLines(results).Where(l => l.Contains(':')).Select(l => l.Split(':', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
            Assert.Equal("shared\n", await File.ReadAllTextAsync(Path.Combine(_hive.DataDir, "shared", $"from-{name}.txt")));
            return (probes.Select(p => p.Key).ToList(), lines);
        }
        finally
        {
            await DestroyAsync(_hive, name);
            File.Delete(Path.Combine(_hive.DataDir, "shared", $"from-{name}.txt"));
        }
    }
}
