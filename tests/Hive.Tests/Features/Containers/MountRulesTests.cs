using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// A mount is judged on what it resolves to, whoever asks: the operator's create, a manager's proposal, and — for a link
/// re-pointed after it was approved, or a meta file edited by hand — the start that would bind it.
/// </summary>
public sealed class MountRulesTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    public static TheoryData<string, string> Refused() => new()
    {
        { "/", "canonical" },
        { "/proc", "kernel's (/proc)" },
        { "/proc/1", "kernel's (/proc)" },
        { "/sys", "kernel's (/sys)" },
        { "/dev", "kernel's (/dev)" },
        { "{data}", "data dir" },
        { "{data}/agents", "data dir" },
        { "{parent}", "data dir" },
        { "{link-to-data}", "data dir" },
        { "{link-to-proc}", "kernel's (/proc)" },
        { "{install}", "install dir" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_mount_that_resolves_into_the_kernel_the_hive_or_the_host_is_refused_from_the_api_and_from_a_proposal(string mount, string rule)
    {
        var links = Directory.CreateTempSubdirectory("hive-links-");
        try
        {
            var path = Resolve(mount, links.FullName);
            var (status, problem) = await PostAsync(_hive.Http, "/api/agents",
                new { name = "peeker", command = new[] { "/bin/true" }, driver = "bubblewrap", mounts = new[] { path } });
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(rule, problem.GetProperty("detail").GetString());
            Assert.Null(await RowAsync(_hive, "peeker"));

            const string name = "proposed";
            await using var manager = await _hive.ConnectAsync("manager");
            var before = (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength();
            try
            {
                await CreateAsync(_hive.Http, Shell(name, "process", "true"));
                var reply = await manager.CallAsync(new { op = "propose_config", name, config = new { command = new[] { "/bin/true" }, driver = "bubblewrap", mounts = new[] { path } } });
                Assert.False(reply.GetProperty("ok").GetBoolean());
                Assert.Contains(rule, reply.GetProperty("error").GetString());
                Assert.Equal(before, (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength());
            }
            finally
            {
                await DestroyAsync(_hive, name);
            }
        }
        finally
        {
            links.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_link_re_pointed_at_the_data_dir_after_its_proposal_was_made_is_refused_when_the_approval_would_start_it()
    {
        const string name = "repointed";
        var outside = Directory.CreateTempSubdirectory("hive-mount-");
        File.SetUnixFileMode(outside.FullName, (UnixFileMode)0b111_101_101); // 0755: the agent's own user must be able to read it
        var link = Path.Combine(outside.FullName, "docs");
        var target = Directory.CreateDirectory(Path.Combine(outside.FullName, "real-docs"));
        File.SetUnixFileMode(target.FullName, (UnixFileMode)0b111_101_101);
        File.CreateSymbolicLink(link, target.FullName);
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            await CreateAsync(_hive.Http, Shell(name, "bubblewrap", "true"));
            var id = (await manager.CallAsync(new
            {
                op = "propose_config", name,
                config = new { command = new[] { "/bin/sh", "-c", "exec sleep 2000" }, driver = "bubblewrap", mounts = new[] { link } },
            }))
                .GetProperty("approval_id").GetInt64();
            File.Delete(link);
            File.CreateSymbolicLink(link, _hive.DataDir); // valid when proposed, the data dir when applied

            using (var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", null))
                Assert.Equal(HttpStatusCode.OK, approved.StatusCode);

            var told = await RecvFromHiveAsync(manager, "config_failed", name);
            Assert.Contains("data dir", told.GetProperty("body").GetString());
            var row = (await RowAsync(_hive, name))!.Value;
            Assert.Equal("running", row.State());
            Assert.DoesNotContain("sleep 2000", row.GetProperty("command").ToString()); // the old configuration runs again
        }
        finally
        {
            await DestroyAsync(_hive, name);
            outside.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task An_interpreters_script_the_agents_own_user_cannot_read_is_refused_at_create(string driver)
    {
        // (A root host, as the suite runs: the agent runs as a user of its own.) The outer dir is open and given as a mount,
        // so the sandbox would show it; the script sits in a 0700 dir inside it.
        var outside = Directory.CreateTempSubdirectory("hive-script-");
        try
        {
            File.SetUnixFileMode(outside.FullName, (UnixFileMode)0b111_101_101);
            var closed = Directory.CreateDirectory(Path.Combine(outside.FullName, "private"));
            File.SetUnixFileMode(closed.FullName, (UnixFileMode)0b111_000_000);
            var script = Path.Combine(closed.FullName, "agent.sh");
            File.WriteAllText(script, "#!/bin/sh\nexec sleep 2000\n");
            File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);

            var (status, problem) = await PostAsync(_hive.Http, "/api/agents",
                new { name = "unreadable", command = new[] { "/bin/sh", script }, driver, mounts = new[] { outside.FullName } });
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal($"the agent runs as a user of its own, who cannot reach {script}: {closed.FullName} is closed to other users",
                problem.GetProperty("detail").GetString());
            Assert.Null(await RowAsync(_hive, "unreadable"));
            Assert.False(Directory.Exists(Path.Combine(_hive.DataDir, "agents", "unreadable")));

            // The same script where the agent's user can read it is accepted (it is the path that was refused, not the form).
            File.SetUnixFileMode(closed.FullName, (UnixFileMode)0b111_101_101);
            try
            {
                await CreateAsync(_hive.Http, new { name = "readable", command = new[] { "/bin/sh", script }, driver, mounts = new[] { outside.FullName } });
            }
            finally
            {
                await DestroyAsync(_hive, "readable");
            }
        }
        finally
        {
            outside.Delete(recursive: true);
        }
    }

    private string Resolve(string mount, string links)
    {
        var linkToData = Path.Combine(links, "data");
        var linkToProc = Path.Combine(links, "proc");
        if (!File.Exists(linkToData) && !Directory.Exists(linkToData)) File.CreateSymbolicLink(linkToData, _hive.DataDir);
        if (!File.Exists(linkToProc) && !Directory.Exists(linkToProc)) File.CreateSymbolicLink(linkToProc, "/proc/self");
        return mount
            .Replace("{data}", _hive.DataDir)
            .Replace("{parent}", Path.GetDirectoryName(_hive.DataDir)!)
            .Replace("{link-to-data}", linkToData)
            .Replace("{link-to-proc}", linkToProc)
            .Replace("{install}", AppContext.BaseDirectory.TrimEnd('/'));
    }
}
