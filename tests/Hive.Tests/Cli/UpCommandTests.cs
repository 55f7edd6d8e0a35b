using Hive.Tests.Features.Containers;

namespace Hive.Tests.Cli;

/// <summary>
/// <c>hivectl up -f swarm.json</c> against a real hive: it creates what is missing, changes what differs (diff shown,
/// recorded as the operator's approval), and a second run changes nothing at all (no agent, approval or meta commit).
/// </summary>
public sealed class UpCommandTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private static object Sleeper(string name, string purpose) =>
        new { name, driver = "process", purpose, command = new[] { "/bin/sh", "-c", "exec sleep 1000" } };

    private string WriteSwarm(string dir, params object[] agents)
    {
        var file = Path.Combine(dir, "swarm.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new { agents }));
        return file;
    }

    private int MetaCommits => MetaGit.In(_hive.DataDir, "rev-list", "--count", "main").Trim() is var n ? int.Parse(n) : 0;
    private async Task<int> ApprovalCountAsync() => (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength();

    [Fact]
    public async Task Up_creates_the_missing_changes_the_different_and_twice_changes_nothing()
    {
        var dir = Directory.CreateTempSubdirectory("hive-up-").FullName;
        var presets = Path.Combine(_hive.DataDir, "meta", "presets");
        Directory.CreateDirectory(presets);
        File.WriteAllText(Path.Combine(presets, "sleeper.json"),
            """{"program": "sleep", "command": ["${program}", "1000"], "env": {"HOME": "home"}}""");
        try
        {
            var swarm = WriteSwarm(dir, Sleeper("up-one", "first"), new { name = "up-two", preset = "sleeper", driver = "process", purpose = "second" });
            var first = (await fixture.OperatorAsync("up", "-f", swarm)).Ok().Stdout;
            Assert.Contains("up-one: created", first);
            Assert.Contains("up-two: created", first);
            foreach (var name in new[] { "up-one", "up-two" })
                Assert.Equal("running", (await ContainersKit.RowAsync(_hive, name))!.Value.State());

            // The same file again: nothing to do, and nothing done.
            var (commits, approvals) = (MetaCommits, await ApprovalCountAsync());
            var again = (await fixture.OperatorAsync("up", "-f", swarm, "--json")).Ok().Json;
            Assert.All(again.GetProperty("agents").EnumerateArray(), a => Assert.Equal("up to date", a.GetProperty("action").GetString()));
            Assert.Equal(commits, MetaCommits);
            Assert.Equal(approvals, await ApprovalCountAsync());

            // One agent changed in the file: a dry run shows the diff and changes nothing; up applies it.
            swarm = WriteSwarm(dir, Sleeper("up-one", "first, then more"), new { name = "up-two", preset = "sleeper", driver = "process", purpose = "second" });
            var dry = (await fixture.OperatorAsync("up", "-f", swarm, "--dry-run")).Ok().Stdout;
            Assert.Contains("up-one: would change", dry);
            Assert.Contains("+  \"purpose\": \"first, then more\"", dry);
            Assert.Contains("up-two: up to date", dry);
            Assert.Equal(commits, MetaCommits);

            var applied = (await fixture.OperatorAsync("up", "-f", swarm)).Ok().Stdout;
            Assert.Matches(@"up-one: changed \(approval \d+\), rebuilt", applied);
            Assert.Contains("-  \"purpose\": \"first\"", applied);
            Assert.Equal("first, then more", (await _hive.GetJsonAsync("/api/agents/up-one/config")).GetProperty("config").GetProperty("purpose").GetString());
            Assert.Equal(approvals + 1, await ApprovalCountAsync());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            File.Delete(Path.Combine(presets, "sleeper.json"));
            foreach (var name in new[] { "up-one", "up-two" }) await ContainersKit.DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_bad_swarm_file_is_refused_whole_before_anything_is_done()
    {
        var dir = Directory.CreateTempSubdirectory("hive-up-").FullName;
        try
        {
            var swarm = WriteSwarm(dir, Sleeper("up-bad-one", "fine"), new { name = "up-bad-two", comand = new[] { "/bin/true" } });
            var refused = (await fixture.OperatorAsync("up", "-f", swarm)).Usage();
            Assert.Contains("up-bad-two: unknown field(s) comand", refused.Stderr);
            Assert.Null(await ContainersKit.RowAsync(_hive, "up-bad-one"));

            swarm = WriteSwarm(dir, Sleeper("up-twice", "a"), Sleeper("up-twice", "b"));
            Assert.Contains("up-twice is listed twice", (await fixture.OperatorAsync("up", "-f", swarm)).Usage().Stderr);
            File.WriteAllText(swarm, "[]");
            Assert.Contains("\"agents\" array", (await fixture.OperatorAsync("up", "-f", swarm)).Usage().Stderr);
            Assert.Contains("cannot read", (await fixture.OperatorAsync("up", "-f", Path.Combine(dir, "absent.json"))).Usage().Stderr);

            // One agent the host refuses is said; the others are still applied, and the run fails.
            swarm = WriteSwarm(dir, new { name = "up-refused", driver = "process", command = new[] { "/no/such/program" } }, Sleeper("up-fine", "fine"));
            var partly = (await fixture.OperatorAsync("up", "-f", swarm)).Refused("failed");
            Assert.Contains("up-refused: failed", partly.Stderr);
            Assert.Contains("up-fine: created", partly.Stderr);
            Assert.NotNull(await ContainersKit.RowAsync(_hive, "up-fine"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            foreach (var name in new[] { "up-fine", "up-refused", "up-bad-one", "up-twice" }) await ContainersKit.DestroyAsync(_hive, name);
        }
    }
}
