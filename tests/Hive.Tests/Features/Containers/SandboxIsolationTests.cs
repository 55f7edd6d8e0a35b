using System.Runtime.InteropServices;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// What an agent can reach, proven from inside: an agent that goes looking for the database, the operator token, another
/// agent's files, other sockets, the host's processes and the host's privileges finds nothing; its own state dir,
/// <c>/shared</c> and its socket are there, and the system is read-only. The suite runs as root (as <c>./test.sh</c> and CI
/// do), the case the hostile pass broke: every agent then runs as a uid of its own, never as root.
/// </summary>
public sealed partial class SandboxIsolationTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task The_probes_run_by_the_host_itself_reach_the_database_the_token_and_another_agent_so_they_can_tell()
    {
        // Proof that the probes below would see a leak: run as the host's user, outside any sandbox, they reach everything.
        var other = await _hive.NewAgentAsync("mirror");
        var probes = Probes(other, withHostSearches: false).Where(p => !IsolationProbes.Writing.Contains(p.Key)).ToArray();
        var script = ProbeScript(probes);
        var dir = Directory.CreateTempSubdirectory("hive-probes-");
        try
        {
            var (lines, _) = await RunScriptAsync(script, dir.FullName);
            var keys = new List<string> { "db-host", "token", "other-host", "host-process", "host-process-environ", "host-root-token" };
            if (Environment.IsPrivilegedProcess) keys.AddRange(["open-by-handle", "stage"]); // CAP_DAC_READ_SEARCH; a root host stages
            foreach (var key in keys) Assert.True(lines[key] == "reached", $"{key}: {lines[key]}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_agent_in_the_sandbox_reaches_its_own_things_and_nothing_else()
    {
        const string name = "prisoner";
        var (probes, lines, outside) = await RunProbesAsync(name, "bubblewrap");

        Assert.All(probes, p => Assert.True(lines[p] == "denied", $"{p}: {lines[p]}"));
        Assert.InRange(int.Parse(lines["pids"]), 1, 6); // its own pid namespace: bwrap's init, the shell, ls
        Assert.Equal("ok", lines["own"]);
        Assert.Equal("ok", lines["shared"]);
        Assert.Equal("ok", lines["socket"]);
        Assert.Equal($"{name}.egress.sock {name}.sock ", lines["sockets"]); // sealed (bubblewrap's default): its proxy's socket beside its own
        Assert.Equal("0000000000000000", lines["cap-eff"]);
        Assert.Equal("2", lines["seccomp"]); // SECCOMP_MODE_FILTER
        Assert.Equal("ro", lines["proc-sys"]);
        Assert.False(File.Exists($"/usr/hive-was-here-{name}"));
        if (Environment.IsPrivilegedProcess) Assert.NotEqual(0u, outside.Uid);
    }

    [Fact]
    public async Task An_agent_of_a_root_host_under_the_process_driver_is_not_root_and_cannot_reach_the_hive()
    {
        if (!Environment.IsPrivilegedProcess) return; // a host that is not root runs agents as its own user (the suite runs as root)
        var (_, lines, outside) = await RunProbesAsync("trusted", "process");

        Assert.NotEqual(0u, outside.Uid);
        Assert.Equal("0000000000000000", lines["cap-eff"]);
        // The process driver does not isolate the system, but the hive's own files are not there for the agent.
        foreach (var key in new[] { "db-host", "token", "other-host", "other-socket", "host-process-environ", "host-root-token", "etc-shadow", "system-write", "stage", "view-write" })
            Assert.True(lines[key] == "denied", $"{key}: {lines[key]}");
        Assert.Equal("ok", lines["own"]);
        Assert.Equal("ok", lines["shared"]);
        Assert.Equal("ok", lines["socket"]);
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task A_descriptor_leaked_into_the_host_is_not_open_in_any_agent(string driver)
    {
        var secret = Path.Combine(_hive.DataDir, $"leaked-{driver}.txt");
        await File.WriteAllTextAsync(secret, "a secret the launcher held open");
        // Opened as an inherited descriptor is: without close-on-exec, in the host's process (this test process hosts it).
        var fd = OpenInheritable(secret);
        Assert.True(fd > 2, $"open({secret}) failed");
        var name = $"leak-{driver[..4]}";
        try
        {
            var row = await CreateAsync(_hive.Http, Shell(name, driver, "ls -l /proc/self/fd/ > \"$HIVE_STATE_DIR/fds.txt\"; echo done >> \"$HIVE_STATE_DIR/fds.txt\""));
            var fds = Path.Combine(_hive.DataDir, "agents", name, "state", "fds.txt");
            await HiveInstance.Until(() => File.Exists(fds) && File.ReadAllText(fds).Contains("done"), TimeSpan.FromSeconds(30), "the agent to list its descriptors");
            Assert.DoesNotContain("leaked-", await File.ReadAllTextAsync(fds));
            foreach (var pid in ProcessTable.Family(row.Pid()!.Value))
                foreach (var link in OpenFiles(pid))
                    Assert.False(link.Contains("leaked-", StringComparison.Ordinal), $"pid {pid} ({ProcessTable.CommandLine(pid)}) holds {link}");
        }
        finally
        {
            Close(fd);
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task An_agent_of_a_root_host_under_the_process_driver_cannot_move_a_child_out_of_its_cgroup()
    {
        if (!Environment.IsPrivilegedProcess || !Directory.Exists("/sys/fs/cgroup")) return; // needs a root host with cgroups (the suite runs as root)
        const string name = "escaper";
        // Tries every cgroup.procs it can name: the hierarchies' roots and the parent of its own cgroup.
        var script = """
            sleep 1000 & child=$!
            for dir in /sys/fs/cgroup /sys/fs/cgroup/*; do
              [ -w "$dir/cgroup.procs" ] && echo "writable:$dir"
              echo $child > "$dir/cgroup.procs" 2>/dev/null && echo "moved:$dir"
            done
            own=$(grep -E '^[0-9]+:(pids)?:' /proc/self/cgroup | head -1 | cut -d: -f3)
            for root in /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
              [ -d "$root$own" ] && { echo $child > "$root$own/../cgroup.procs" 2>/dev/null && echo "moved:parent"; }
            done
            echo "$child" > "$HIVE_STATE_DIR/child.txt"
            echo done >> "$HIVE_STATE_DIR/child.txt"
            """;
        var row = await CreateAsync(_hive.Http, Shell(name, "process", script));
        var results = Path.Combine(_hive.DataDir, "agents", name, "state", "child.txt");
        try
        {
            await HiveInstance.Until(() => File.Exists(results) && File.ReadAllText(results).Contains("done"), TimeSpan.FromSeconds(30), "the escape attempts");
            var child = int.Parse(File.ReadAllLines(results)[0]);
            var log = await File.ReadAllTextAsync(Path.Combine(_hive.DataDir, "agents", name, "logs", "output.log"));
            Assert.DoesNotContain("moved:", log);
            Assert.DoesNotContain("writable:", log);
            var leader = row.Pid()!.Value;
            Assert.Equal(await File.ReadAllTextAsync($"/proc/{leader}/cgroup"), await File.ReadAllTextAsync($"/proc/{child}/cgroup"));
            // And it may not fork without end: its cgroup caps its processes (v1's pids hierarchy, as on this machine).
            var pids = File.ReadLines($"/proc/{leader}/cgroup").Select(l => l.Split(':', 3)).FirstOrDefault(p => p[1] == "pids");
            if (pids is not null) Assert.Equal("1024", File.ReadAllText($"/sys/fs/cgroup/pids{pids[2]}/pids.max").Trim());

            await DestroyAsync(_hive, name);
            await ProcessTable.UntilGoneAsync([child]);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_state_dir_taken_over_for_the_agents_uid_changes_links_it_holds_never_what_they_point_to()
    {
        if (!Environment.IsPrivilegedProcess) return; // only a root host changes owners (the suite runs as root)
        const string name = "planter";
        var victim = Directory.CreateTempSubdirectory("hive-victim-");
        File.SetUnixFileMode(victim.FullName, (UnixFileMode)0b111_101_101);
        var victimFile = Path.Combine(victim.FullName, "precious.txt");
        await File.WriteAllTextAsync(victimFile, "root's");
        try
        {
            // The agent plants links to the victim, as a directory and as a file, then the state dir stops being the
            // agent's (a host that was not root made it): the next start takes the tree over.
            var row = await CreateAsync(_hive.Http, Shell(name, "process",
                $"ln -s '{victim.FullName}' \"$HIVE_STATE_DIR/dir-link\"; ln -s '{victimFile}' \"$HIVE_STATE_DIR/file-link\"; mkdir -p \"$HIVE_STATE_DIR/sub\"; ln -s '{victim.FullName}' \"$HIVE_STATE_DIR/sub/deeper\""));
            var state = Path.Combine(_hive.DataDir, "agents", name, "state");
            await HiveInstance.Until(() => Hive.Shared.Native.FileStatus.OfPath(Path.Combine(state, "sub", "deeper")) is not null, TimeSpan.FromSeconds(30), "the links");
            var agentUid = Hive.Shared.Native.FileStatus.OwnerOfPath(Path.Combine(state, "dir-link"))!.Value.Uid;
            Assert.NotEqual(0u, agentUid);
            var (stopped, _) = await PostAsync(_hive.Http, $"/api/agents/{name}/stop");
            Assert.Equal(System.Net.HttpStatusCode.OK, stopped);
            foreach (var entry in Directory.EnumerateFileSystemEntries(state, "*", new EnumerationOptions { RecurseSubdirectories = false }).Append(state))
                Assert.Equal(0, LChown(entry, 0, 0));

            var (started, _) = await PostAsync(_hive.Http, $"/api/agents/{name}/start");
            Assert.Equal(System.Net.HttpStatusCode.OK, started);

            Assert.Equal((0u, 0u), Hive.Shared.Native.FileStatus.OwnerOfPath(victim.FullName));
            Assert.Equal((0u, 0u), Hive.Shared.Native.FileStatus.OwnerOfPath(victimFile));
            Assert.Equal(agentUid, Hive.Shared.Native.FileStatus.OwnerOfPath(state)!.Value.Uid);
            Assert.Equal(agentUid, Hive.Shared.Native.FileStatus.OwnerOfPath(Path.Combine(state, "dir-link"))!.Value.Uid);
            Assert.Equal(agentUid, Hive.Shared.Native.FileStatus.OwnerOfPath(Path.Combine(state, "sub", "deeper"))!.Value.Uid);
            _ = row;
        }
        finally
        {
            await DestroyAsync(_hive, name);
            victim.Delete(recursive: true);
        }
    }

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChown(string path, uint uid, uint gid);

    private sealed record Outside(uint Uid);

    /// <summary>Runs the probes as agent <paramref name="name"/> under <paramref name="driver"/>: the probe keys, every result line, and who the agent is outside.</summary>
    private async Task<(IReadOnlyList<string> Probes, Dictionary<string, string> Lines, Outside Outside)> RunProbesAsync(string name, string driver)
    {
        var other = await _hive.NewAgentAsync("other");
        var probes = Probes(other, withHostSearches: driver == "bubblewrap"); // a search of the whole host is slow
        try
        {
            var row = await CreateAsync(_hive.Http, Shell(name, driver, ProbeScript(probes)));
            var results = Path.Combine(_hive.DataDir, "agents", name, "state", "probes.txt");
            await HiveInstance.Until(() => File.Exists(results) && File.ReadAllText(results).Contains("done"), TimeSpan.FromSeconds(30), "the probes to finish");
            var lines = IsolationProbes.Parse(File.ReadAllLines(results));
            Assert.Equal("shared\n", await File.ReadAllTextAsync(Path.Combine(_hive.DataDir, "shared", $"from-{name}.txt")));
            // The agent's own processes (the leader's family but the leader, which is the driver's wrapper).
            // "done" is written just before the script execs sleep: wait for the exec.
            List<int> SleepingPids() => ProcessTable.Family(row.Pid()!.Value).Where(p => ProgramOf(p)?.EndsWith("/sleep", StringComparison.Ordinal) == true).ToList();
            await HiveInstance.Until(() => SleepingPids().Count > 0, TimeSpan.FromSeconds(10), "the agent's script to exec sleep");
            var agentPids = SleepingPids();
            var uid = agentPids.Select(UidOf).Distinct().Single();
            return (probes.Select(p => p.Key).ToList(), lines, new Outside(uid));
        }
        finally
        {
            await DestroyAsync(_hive, name);
            File.Delete(Path.Combine(_hive.DataDir, "shared", $"from-{name}.txt"));
        }
    }

    private (string Key, string Command)[] Probes(string other, bool withHostSearches) =>
        IsolationProbes.Probes(_hive.DataDir, other, Environment.ProcessId, withHostSearches);

    /// <summary>The probes, as an agent runs them: into <c>probes.txt</c> in its state dir, with what it must reach of its own.</summary>
    private static string ProbeScript((string Key, string Command)[] probes) => IsolationProbes.Script(probes, "probes.txt",
        "echo written > \"$HIVE_STATE_DIR/own.txt\" && cat \"$HIVE_STATE_DIR/own.txt\" >/dev/null && echo own:ok\n"
        + "echo shared > \"$HIVE_SHARED_DIR/from-$HIVE_AGENT.txt\" && echo shared:ok\n"
        + "test -S \"$HIVE_SOCKET\" && echo socket:ok\n"
        + "echo \"sockets:$(ls /run/hive 2>/dev/null | tr '\\n' ' ')\"\n");

    private static async Task<(Dictionary<string, string> Lines, int Exit)> RunScriptAsync(string script, string directory)
    {
        using var shell = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { "-c", script },
            WorkingDirectory = directory,
            Environment = { ["HIVE_STATE_DIR"] = directory, ["HIVE_SHARED_DIR"] = directory, ["HIVE_SOCKET"] = "/nonexistent", ["HIVE_AGENT"] = "probe" },
        })!;
        await shell.WaitForExitAsync();
        return (IsolationProbes.Parse(await File.ReadAllLinesAsync(Path.Combine(directory, "probes.txt"))), shell.ExitCode);
    }

    private static string? ProgramOf(int pid)
    {
        try { return new FileInfo($"/proc/{pid}/exe").LinkTarget; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static uint UidOf(int pid) => ProcessTable.RealUid(pid) ?? throw new InvalidOperationException($"pid {pid} is gone");

    private static IEnumerable<string> OpenFiles(int pid)
    {
        string[] entries;
        try { entries = Directory.GetFileSystemEntries($"/proc/{pid}/fd"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { yield break; }
        foreach (var entry in entries)
        {
            string? target;
            try { target = new FileInfo(entry).LinkTarget; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (target is not null) yield return target;
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenInheritable(string path, int flags = 0);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
