using Hive.Tests.Features.Containers.Fakes;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The nixos-container driver through the HTTP API of a real hive, against a fake <c>nixos-container</c> that records
/// every argv and keeps container state in files (no real NixOS here). Each test has its own hive and fake, so the
/// recorded argv is exactly this test's.
/// </summary>
public sealed class NixosContainerDriverTests : IDisposable
{
    private readonly FakeNixosContainer _fake = new();

    public void Dispose() => _fake.Dispose();

    private string[] Args =>
    [
        "--Hive:Containers:NixosContainer:Path", _fake.Executable, "--Hive:Containers:NixosContainer:PollSeconds", "0.1",
        "--Hive:Containers:RestartBackoffSeconds", "0.05", "--Hive:Containers:StopGraceSeconds", "2",
    ];

    private static object Body(string name, string? restart = null) =>
        new { name, command = new[] { "/run/current-system/sw/bin/sleep", "1000" }, driver = "nixos-container", restart = restart ?? "on-failure" };

    [Fact]
    public async Task Create_crash_restart_stop_and_destroy_shell_out_with_exact_argv()
    {
        const string name = "nixos-abc"; // 9 characters: h-nixos-abc is nixos-container's 11
        const string container = "h-" + name;
        await using var hive = await HiveInstance.StartAsync([], Args);
        await using var events = await hive.OpenEventsAsync();
        var config = Path.Combine(hive.DataDir, "agents", name, "nixos-container.nix");

        var row = await CreateAsync(hive.Http, Body(name));
        Assert.Equal("running", row.State());
        Assert.Equal("nixos-container", row.GetProperty("driver").GetString());
        Assert.Equal(["status", container], _fake.Calls[0]);
        Assert.Equal([$"create {container} --config-file {config}", $"start {container}"], _fake.Actions);
        Assert.Equal("up", _fake.State(container));
        // The config the container was made from: the command and the agent's view of its paths, as data for Nix.
        var nix = _fake.Config(container)!;
        Assert.Contains("builtins.fromJSON", nix);
        Assert.Contains("\"/run/current-system/sw/bin/sleep\"", nix);
        Assert.Contains($"\"HIVE_SOCKET\": \"/run/hive/{name}.sock\"", nix);
        Assert.Contains($"\"inside\": \"/agents/{name}/state\"", nix);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));

        // The container goes down behind the host's back: the status poll notices, and the policy starts it again.
        _fake.SetState(container, "down");
        var crashed = await NextRowAsync(events, name, r => r.State() == "crashed", TimeSpan.FromSeconds(10));
        Assert.Equal(JsonValueKind.Object, crashed.GetProperty("last_exit").ValueKind);
        var back = await NextRowAsync(events, name, r => r.State() == "running" && r.Transient() is null);
        Assert.Equal(1, back.GetProperty("restarts").GetInt32());
        Assert.Equal("up", _fake.State(container));
        Assert.Contains($"{container} was found down by the status poll",
            File.ReadAllText(Path.Combine(hive.DataDir, "agents", name, "logs", "output.log")));
        // It still existed (status said down): started again, not created twice.
        Assert.Equal([$"create {container} --config-file {config}", $"start {container}", $"start {container}"], _fake.Actions);

        var (stopStatus, stopped) = await PostAsync(hive.Http, $"/api/agents/{name}/stop");
        Assert.Equal(HttpStatusCode.OK, stopStatus);
        Assert.Equal("stopped", stopped.State());
        Assert.Equal($"stop {container}", _fake.Actions[^1]);
        Assert.Equal("down", _fake.State(container));

        using (var response = await hive.Http.DeleteAsync($"/api/agents/{name}"))
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal($"destroy {container}", _fake.Actions[^1]);
        Assert.Null(_fake.State(container));
        Assert.False(File.Exists(config));
        Assert.Contains((await hive.GetJsonAsync("/api/tombstones")).EnumerateArray(), t => t.GetProperty("name").GetString() == name);
        Assert.True(Directory.Exists(Path.Combine(hive.DataDir, "agents", name, "state")));

        // Every call was one of the verbs on a container of this agent, and none carried the operator's token.
        Assert.All(_fake.Calls, c => Assert.Contains(c[0], new[] { "status", "create", "start", "stop", "destroy" }));
        Assert.All(_fake.Calls, c => Assert.Equal(container, c[1]));
        Assert.NotNull(hive.Token);
        Assert.DoesNotContain(hive.Token!, _fake.RawLog, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nixos-abcd", "at most 9 characters")] // 10: h-nixos-abcd would be 12
    [InlineData("a;touch-x", "^[a-z][a-z0-9-]{0,30}$")]
    [InlineData("a$(id)", "^[a-z][a-z0-9-]{0,30}$")]
    [InlineData("a b", "^[a-z][a-z0-9-]{0,30}$")]
    public async Task A_name_that_does_not_fit_is_refused_before_nixos_container_is_ever_run(string name, string reason)
    {
        await using var hive = await HiveInstance.StartAsync([], Args);
        var (status, problem) = await PostAsync(hive.Http, "/api/agents", Body(name));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, problem.ToString());
        Assert.Empty(_fake.Calls);
        Assert.Null(await RowAsync(hive, name));
    }

    [Fact]
    public async Task A_failing_start_is_a_400_with_the_commands_stderr_and_leaves_nothing()
    {
        const string name = "nofail";
        const string container = "h-" + name;
        await using var hive = await HiveInstance.StartAsync([], Args);
        _fake.Fail("start", "Job for container@h-nofail.service failed because the control process exited with error code.");

        var (status, problem) = await PostAsync(hive.Http, "/api/agents", Body(name));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains($"nixos-container start {container} failed (exit code 1)", detail);
        Assert.Contains("Job for container@h-nofail.service failed", detail);
        Assert.Null(await RowAsync(hive, name));
        // The container this create made is gone again.
        Assert.Equal([$"create {container} --config-file {Path.Combine(hive.DataDir, "agents", name, "nixos-container.nix")}",
            $"start {container}", $"destroy {container}"], _fake.Actions);
        Assert.Null(_fake.State(container));

        // Healed, the same name can be created.
        _fake.Heal("start");
        var row = await CreateAsync(hive.Http, Body(name));
        Assert.Equal("running", row.State());
    }

    [Fact]
    public async Task A_command_that_hangs_is_killed_at_the_timeout_and_the_create_fails_cleanly()
    {
        const string name = "hangs";
        await using var hive = await HiveInstance.StartAsync([], [.. Args, "--Hive:Containers:NixosContainer:TimeoutSeconds", "1"]);
        _fake.Hang("create");
        var (status, problem) = await PostAsync(hive.Http, "/api/agents", Body(name));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("nixos-container create h-hangs did not finish within 1 s", problem.GetProperty("detail").GetString());
        Assert.Null(await RowAsync(hive, name));
        Assert.Null(_fake.State("h-" + name));
    }

    [Fact]
    public async Task The_driver_is_unavailable_with_a_sentence_when_nixos_container_cannot_be_found()
    {
        var missing = Path.Combine(_fake.Dir, "no-such-nixos-container");
        await using var hive = await HiveInstance.StartAsync([],
            ["--Hive:Containers:NixosContainer:Path", missing]);
        var (status, problem) = await PostAsync(hive.Http, "/api/agents", Body("absent"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"the nixos-container driver cannot run agents here: the nixos-container driver needs the nixos-container program: {missing} does not exist",
            problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_container_still_up_when_the_host_starts_again_is_adopted_not_created_or_started_again()
    {
        const string name = "adoptee";
        const string container = "h-" + name;
        var dataDir = Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            await using (var first = await HiveInstance.StartOnAsync(dataDir, [], Args))
            {
                var row = await CreateAsync(first.Http, Body(name));
                Assert.Equal("running", row.State());
            }
            // Its container outlived the host's stop (as in hyperhive): no stop was run, and it is still up.
            Assert.DoesNotContain($"stop {container}", _fake.Actions);
            _fake.ClearLog();

            await using var second = await HiveInstance.StartOnAsync(dataDir, [], Args);
            await second.Service<Hive.Features.Containers.AgentsStartUp>().Reconciled;
            var adopted = await RowAsync(second, name);
            Assert.Equal("running", adopted!.Value.State());
            Assert.Empty(_fake.Actions); // only status: no create, no start
            Assert.Contains(_fake.Calls, c => c is ["status", container]);

            // Adopted means watched: its end is noticed and the policy starts it (start only: it exists).
            await using var events = await second.OpenEventsAsync();
            _fake.SetState(container, "down");
            await NextRowAsync(events, name, r => r.State() == "crashed", TimeSpan.FromSeconds(10));
            await NextRowAsync(events, name, r => r.State() == "running" && r.Transient() is null);
            Assert.Equal([$"start {container}"], _fake.Actions);
        }
        finally
        {
            try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public async Task A_container_up_for_an_agent_not_meant_to_run_is_stopped_at_start_up()
    {
        const string name = "stray";
        const string container = "h-" + name;
        var dataDir = Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            await using (var first = await HiveInstance.StartOnAsync(dataDir, [], Args))
            {
                await CreateAsync(first.Http, Body(name));
                var (status, _) = await PostAsync(first.Http, $"/api/agents/{name}/stop");
                Assert.Equal(HttpStatusCode.OK, status);
            }
            _fake.SetState(container, "up"); // someone started it by hand meanwhile
            _fake.ClearLog();

            await using var second = await HiveInstance.StartOnAsync(dataDir, [], Args);
            await second.Service<Hive.Features.Containers.AgentsStartUp>().Reconciled;
            Assert.Equal([$"stop {container}"], _fake.Actions);
            Assert.Equal("down", _fake.State(container));
            Assert.Equal("stopped", (await RowAsync(second, name))!.Value.State());
        }
        finally
        {
            try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
