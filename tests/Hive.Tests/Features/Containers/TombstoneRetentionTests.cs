using System.Diagnostics;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using Hive.Features.Containers;
using static Hive.Tests.Features.Containers.ContainersKit;
using static Hive.Tests.Features.Containers.TestGit;

namespace Hive.Tests.Features.Containers;

/// <summary>A hive that keeps tombstones for a day: the tests age theirs in the database and run the sweep by its route.</summary>
public sealed class TombstoneRetentionFixture : HiveFixture
{
    protected override string[] Agents => [];
    protected override string[] Args => ["--Hive:Containers:TombstoneRetainDays", "1"];
}

/// <summary>
/// Tombstone retention (<c>Hive:Containers:TombstoneRetainDays</c>): old tombstones are purged by the sweep, except those
/// whose state dir holds git commits not pushed anywhere; git is never made to run what the agent planted.
/// </summary>
public sealed class TombstoneRetentionTests(TombstoneRetentionFixture fixture) : SharedHiveTests(fixture), IClassFixture<TombstoneRetentionFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Sweep_keeps_a_tombstone_with_an_unpushed_commit_and_purges_one_pushed_and_one_without_git()
    {
        var remote = Path.Combine(Path.GetTempPath(), "hive-tomb-remote-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var (unpushed, pushed, plain, fresh) = (await _hive.NewAgentAsync("unpushed"), await _hive.NewAgentAsync("pushed"),
                await _hive.NewAgentAsync("plain"), await _hive.NewAgentAsync("fresh"));
            var work = Path.Combine(StateDir(_hive, unpushed), "work");
            Git(null, "init", "-q", "-b", "main", work);
            File.WriteAllText(Path.Combine(work, "notes.txt"), "mine");
            Git(work, "add", "notes.txt");
            Git(work, "commit", "-q", "-m", "local only");

            var clone = Path.Combine(StateDir(_hive, pushed), "deep", "er", "clone");
            Git(null, "init", "-q", "--bare", remote);
            Git(null, "init", "-q", "-b", "main", clone);
            Git(clone, "commit", "-q", "--allow-empty", "-m", "pushed");
            Git(clone, "remote", "add", "origin", remote);
            Git(clone, "push", "-q", "origin", "main");

            File.WriteAllText(Path.Combine(StateDir(_hive, plain), "notes.txt"), "no git here");
            foreach (var name in new[] { unpushed, pushed, plain, fresh }) await DestroyAsync(_hive, name);
            Age(_hive, unpushed, pushed, plain);

            var before = await TombstonesAsync(_hive);
            Assert.Equal("due", before[plain].Retention.State);
            Assert.Equal("waiting", before[fresh].Retention.State);

            await using var events = await _hive.OpenEventsAsync();
            var result = await SweepAsync(_hive);
            Assert.Equal(1, result.RetainDays);
            Assert.Equal([plain, pushed], result.Purged.Order());
            var kept = Assert.Single(result.Kept);
            Assert.Equal(unpushed, kept.Name);
            Assert.Equal("unpushed work in state/work/.git", kept.Reason);

            Assert.True(Directory.Exists(work));
            Assert.False(Directory.Exists(AgentDir(_hive, pushed)));
            Assert.False(Directory.Exists(AgentDir(_hive, plain)));
            Assert.True(Directory.Exists(AgentDir(_hive, fresh)));
            var after = await TombstonesAsync(_hive);
            Assert.False(after.ContainsKey(pushed) || after.ContainsKey(plain));
            var status = after[unpushed].Retention;
            Assert.Equal("kept", status.State);
            Assert.Equal("unpushed work in state/work/.git", status.Reason);
            Assert.NotNull(status.CheckedAt);
            Assert.Equal("waiting", after[fresh].Retention.State);

            // The snapshot and the sweep's event carry the kept status and the section's summary.
            var changed = await events.WaitForPayloadAsync<TombstonesChangedPayload>("tombstones_changed",
                e => e.Tombstones.Any(t => t.Name == unpushed && t.Retention.State == "kept"));
            Assert.Equal(1, changed.Retention.RetainDays);
            var state = await _hive.GetJsonAsync("/api/state");
            var summary = state.GetProperty("tombstone_retention").Deserialize<TombstoneRetentionSummary>(HiveJson.Options)!;
            Assert.Equal(state.GetProperty("tombstones").Deserialize<List<TombstoneView>>(HiveJson.Options)!.Sum(t => t.Bytes), summary.TotalBytes);
            Assert.True(summary.TotalBytes > 0);
            Assert.NotNull(summary.NextSweepAt);

            // Kept, not forgotten: once its work is pushed, the next sweep purges it.
            Git(work, "remote", "add", "origin", remote);
            Git(work, "push", "-q", "origin", "main:other");
            Assert.Contains(unpushed, (await SweepAsync(_hive)).Purged);
            Assert.False(Directory.Exists(AgentDir(_hive, unpushed)));
        }
        finally
        {
            if (Directory.Exists(remote)) Directory.Delete(remote, recursive: true);
        }
    }

    [Fact]
    public async Task Sweep_never_runs_what_a_planted_repository_configures()
    {
        var name = await _hive.NewAgentAsync("planter");
        var outside = Path.Combine(Path.GetTempPath(), "hive-tomb-plant-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(outside);
        try
        {
            var marker = Path.Combine(outside, "marker");
            var script = Path.Combine(outside, "evil.sh");
            File.WriteAllText(script, $"#!/bin/sh\ntouch '{marker}'\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var repo = Path.Combine(StateDir(_hive, name), "repo");
            Git(null, "init", "-q", "-b", "main", repo);
            Git(repo, "commit", "-q", "--allow-empty", "-m", "x");
            // What an agent can plant in its own repository: a partial clone whose lazy fetch runs an ext:: command (a ref
            // to a missing commit triggers it), fsmonitor, a pager, hooks, an ssh command, an alias over the command run.
            var hooks = Path.Combine(repo, ".git", "hooks");
            foreach (var hook in new[] { "reference-transaction", "post-checkout", "pre-auto-gc", "post-index-change" })
            {
                File.Copy(script, Path.Combine(hooks, hook));
                File.SetUnixFileMode(Path.Combine(hooks, hook), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            var config = Path.Combine(repo, ".git", "config");
            File.WriteAllText(config, File.ReadAllText(config).Replace("repositoryformatversion = 0", "repositoryformatversion = 1") + $"""
                [core]
                	fsmonitor = {script}
                	hooksPath = {hooks}
                	pager = {script}
                	sshCommand = {script}
                [extensions]
                	partialClone = origin
                [remote "origin"]
                	url = ext::{script} %S
                	promisor = true
                	uploadpack = {script}
                [protocol]
                	allow = always
                [protocol "ext"]
                	allow = always
                [alias]
                	rev-list = !{script}

                """);
            File.WriteAllText(Path.Combine(repo, ".git", "refs", "heads", "ghost"), "1234567890123456789012345678901234567890\n");

            // The plant is live: git run as usual on it runs the script.
            var control = Path.Combine(outside, "control");
            Directory.CreateDirectory(control);
            CopyTree(Path.Combine(repo, ".git"), Path.Combine(control, ".git"));
            RunGit(null, ["--git-dir=" + Path.Combine(control, ".git"), "rev-list", "--all", "--max-count=1"]);
            Assert.True(File.Exists(marker), "the planted repository's lazy fetch did not run its script: the test proves nothing");
            File.Delete(marker);

            await DestroyAsync(_hive, name);
            Age(_hive, name);
            var result = await SweepAsync(_hive);
            var kept = Assert.Single(result.Kept, k => k.Name == name);
            // git's lazy fetch is refused (exit 128), unless git first dies of SIGPIPE writing the wanted ids to the refused
            // fetch (141): a race inside git. Either way the tombstone is kept and nothing planted runs.
            Assert.Matches(@"^could not check git work: git failed in state/repo/\.git \(exit code (128|141)\)$", kept.Reason);
            Assert.True(Directory.Exists(repo));
            Assert.False(File.Exists(marker), "the sweep ran a script the agent planted");
        }
        finally
        {
            using (await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) { }
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Sweep_follows_no_symlink_and_keeps_what_is_too_deep_to_check()
    {
        var (linker, deep) = (await _hive.NewAgentAsync("linker"), await _hive.NewAgentAsync("deep"));
        var outside = Path.Combine(Path.GetTempPath(), "hive-tomb-outside-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            // A link to a repository with unpushed work elsewhere: the purge deletes the link, not the work, so it is no reason to keep.
            Git(null, "init", "-q", "-b", "main", outside);
            Git(outside, "commit", "-q", "--allow-empty", "-m", "elsewhere");
            File.CreateSymbolicLink(Path.Combine(StateDir(_hive, linker), "linked"), outside);
            var tooDeep = Path.Combine(StateDir(_hive, deep), "a", "b", "c", "d", "e", "f", "g", "h", "i");
            Directory.CreateDirectory(tooDeep);
            foreach (var name in new[] { linker, deep }) await DestroyAsync(_hive, name);
            Age(_hive, linker, deep);

            var result = await SweepAsync(_hive);
            Assert.Contains(linker, result.Purged);
            Assert.True(Directory.Exists(Path.Combine(outside, ".git")));
            var kept = Assert.Single(result.Kept, k => k.Name == deep);
            Assert.Equal("could not check git work: directories deeper than 8 levels", kept.Reason);
        }
        finally
        {
            using (await _hive.Http.DeleteAsync($"/api/tombstones/{deep}")) { }
            if (Directory.Exists(outside)) Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_link_inside_a_git_dir_keeps_the_tombstone_and_what_it_points_at_is_never_quoted()
    {
        var planter = await _hive.NewAgentAsync("planter");
        var secret = Path.Combine(Path.GetTempPath(), "hive-tomb-secret-" + Guid.NewGuid().ToString("N")[..12]);
        var token = "Zx9secretTOKEN" + Guid.NewGuid().ToString("N");
        try
        {
            await File.WriteAllTextAsync(secret, token);
            var repo = Path.Combine(StateDir(_hive, planter), "repo");
            Git(null, "init", "-q", "--bare", repo);
            // git, reading packed-refs through the link, would fail quoting its first line: the host's secret.
            File.CreateSymbolicLink(Path.Combine(repo, "packed-refs"), secret);
            await DestroyAsync(_hive, planter);
            Age(_hive, planter);

            var result = await SweepAsync(_hive);
            var kept = Assert.Single(result.Kept, k => k.Name == planter);
            Assert.Equal("could not check git work: state/repo: packed-refs is a symlink", kept.Reason);
            Assert.DoesNotContain(token, (await _hive.GetJsonAsync("/api/state")).GetRawText());
            Assert.DoesNotContain(_hive.Logs.Lines, line => line.Text.Contains(token));
        }
        finally
        {
            using (await _hive.Http.DeleteAsync($"/api/tombstones/{planter}")) { }
            File.Delete(secret);
        }
    }

    [Fact]
    public async Task Nothing_is_purged_with_retention_off()
    {
        // A hive of its own: retention at its default, off.
        await using var hive = await HiveInstance.StartAsync([]);
        var name = await hive.NewAgentAsync("old");
        await DestroyAsync(hive, name);
        Age(hive, name);

        var (status, body) = await PostAsync(hive.Http, "/api/tombstones/sweep");
        Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {body}");
        // Off is written as a present null (here and in the summary below): the raw JSON says so, a record would not.
        Assert.Equal(JsonValueKind.Null, body.GetProperty("retain_days").ValueKind);
        Assert.Empty(body.Deserialize<SweepTombstones.Result>(HiveJson.Options)!.Purged);
        Assert.True(Directory.Exists(AgentDir(hive, name)));
        Assert.Equal("off", (await TombstonesAsync(hive))[name].Retention.State);
        var summary = (await hive.GetJsonAsync("/api/state")).GetProperty("tombstone_retention");
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("retain_days").ValueKind);
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("next_sweep_at").ValueKind);
    }

    [Fact]
    public async Task A_negative_retention_is_refused_at_start_up()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => HiveInstance.StartAsync([], "--Hive:Containers:TombstoneRetainDays", "-1"));
        Assert.Contains("Hive:Containers:TombstoneRetainDays", error.Message);
    }

    private static string AgentDir(HiveInstance hive, string name) => Path.Combine(hive.DataDir, "agents", name);

    private static string StateDir(HiveInstance hive, string name) => Path.Combine(AgentDir(hive, name), "state");

    /// <summary>Makes the tombstones look destroyed long ago (the database holds the only clock retention reads).</summary>
    private static void Age(HiveInstance hive, params string[] names) =>
        hive.ExecuteDb($"UPDATE tombstones SET destroyed_at = '2020-01-01T00:00:00.000Z' WHERE name IN ({string.Join(", ", names.Select(n => $"'{n}'"))})");

    private static async Task<SweepTombstones.Result> SweepAsync(HiveInstance hive)
    {
        var (status, result) = await PostAsync(hive.Http, "/api/tombstones/sweep");
        Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {result}");
        return result.Deserialize<SweepTombstones.Result>(HiveJson.Options)!;
    }

    private static async Task<Dictionary<string, TombstoneView>> TombstonesAsync(HiveInstance hive) =>
        (await hive.GetAsync<List<TombstoneView>>("/api/tombstones")).ToDictionary(t => t.Name);

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from)) CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
    }
}

/// <summary>git as the tests run it to lay out an agent's repositories: no system or global config (the machine's must not matter).</summary>
internal static class TestGit
{
    public static void Git(string? cwd, params string[] args) =>
        RunGit(cwd, ["-c", "user.name=t", "-c", "user.email=t@t", .. args], check: true);

    /// <summary>git with no system or global config (the test machine's must not matter).</summary>
    public static void RunGit(string? cwd, string[] args, bool check = false)
    {
        var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = cwd ?? Path.GetTempPath() };
        info.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        info.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var git = Process.Start(info)!;
        var output = git.StandardOutput.ReadToEndAsync();
        var error = git.StandardError.ReadToEnd();
        git.WaitForExit();
        _ = output.Result;
        if (check && git.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', args)}: {error}");
    }
}
