using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

public sealed class CreateAgentTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task The_location_of_a_created_agent_is_its_row_and_an_unknown_name_is_a_404()
    {
        const string name = "located";
        try
        {
            using var created = await _hive.Http.PostAsJsonAsync("/api/agents", Shell(name, "process", "true"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var location = created.Headers.Location!;
            Assert.Equal($"/api/agents/{name}", location.OriginalString);

            using var followed = await _hive.Http.GetAsync(location);
            Assert.Equal(HttpStatusCode.OK, followed.StatusCode);
            var row = JsonDocument.Parse(await followed.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(name, row.GetProperty("name").GetString());
            Assert.Equal("running", row.State());

            using var unknown = await _hive.Http.GetAsync("/api/agents/nobody-here");
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal("not_found", Problem.Of(JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement).Code);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_create_registers_its_row_starting_ends_it_with_the_running_row_and_raises_no_row_between_or_after()
    {
        const string name = "one-row";
        await using var events = await _hive.OpenEventsAsync();
        try
        {
            var created = await CreateAsync(_hive.Http, Shell(name, "process", "sleep 600"));
            Assert.Null(created.Transient());
            // Registered "starting" (no row of its own for the transient), then running with "starting" cleared in the same change.
            var registered = await NextRowAsync(events, name, _ => true);
            Assert.Equal("starting", registered.Transient());
            var running = await NextRowAsync(events, name, _ => true);
            Assert.Equal(("running", null), (running.State(), running.Transient()));

            using var stop = await _hive.Http.PostAsync($"/api/agents/{name}/stop", null);
            Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
            var next = await NextRowAsync(events, name, _ => true);
            Assert.Equal(("running", "stopping"), (next.State(), next.Transient())); // the stop's first row is the next one
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task A_created_sample_agent_runs_and_answers_a_message(string driver)
    {
        var name = $"echo-{driver[..4]}";
        await using var events = await _hive.OpenEventsAsync();
        try
        {
            var row = await CreateAsync(_hive.Http, SampleAgent.Body(name, driver));
            Assert.Equal("running", row.State());
            Assert.Equal(driver, row.GetProperty("driver").GetString());
            Assert.Equal("running", row.GetProperty("desired").GetString());
            Assert.Null(row.Transient());
            Assert.True(row.Pid() > 1);
            Assert.True(ProcessTable.IsAlive(row.Pid()!.Value));
            await NextRowAsync(events, name, r => r.State() == "running" && r.Transient() is null);

            // The operator says hello; the agent (it reached its socket from inside its container) answers.
            using var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body = "hello, hive" });
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
            var answer = await events.WaitForPayloadAsync<MessageView>("sent", e => e.From == name);
            Assert.Equal("operator", answer.To);
            Assert.Equal("↩ evih ,olleh", answer.Body);

            // Its output went to its log, outside its state dir. The host's pump copies the agent's stdout pipe into the
            // log, so the line may trail the reply it printed before: read until it is there, for a bounded time.
            var log = "";
            for (var deadline = DateTime.UtcNow.AddSeconds(15); !log.Contains("hello, hive") && DateTime.UtcNow < deadline; await Task.Delay(50))
                log = await _hive.Http.GetStringAsync($"/api/agents/{name}/logs?tail=50");
            Assert.Contains("hello, hive", log);
            Assert.False(File.Exists(Path.Combine(_hive.DataDir, "agents", name, "state", "output.log")));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task The_process_gets_the_clean_environment_of_the_design_and_runs_in_its_state_dir()
    {
        const string name = "env-check";
        try
        {
            await CreateAsync(_hive.Http, new
            {
                name, driver = "process", env = new Dictionary<string, string> { ["MY_SETTING"] = "42" },
                command = new[] { "/bin/sh", "-c", "env > env.txt; pwd > pwd.txt; exec sleep 1000" },
            });
            var stateDir = Path.Combine(_hive.DataDir, "agents", name, "state");
            await HiveInstance.Until(() => File.Exists(Path.Combine(stateDir, "pwd.txt")) && new FileInfo(Path.Combine(stateDir, "pwd.txt")).Length > 0);
            await HiveInstance.Until(() => File.ReadAllText(Path.Combine(stateDir, "env.txt")).Contains("MY_SETTING"));
            var env = File.ReadAllLines(Path.Combine(stateDir, "env.txt")).Select(l => l.Split('=', 2)[0]).ToHashSet();
            // sh itself adds PWD (and may add SHLVL, OLDPWD, _); nothing of the host's environment reaches the agent.
            env.ExceptWith(["PWD", "SHLVL", "OLDPWD", "_"]);
            Assert.Equal(new[] { "HIVE_AGENT", "HIVE_SHARED_DIR", "HIVE_SOCKET", "HIVE_STATE_DIR", "HIVE_WORK_DIR", "HOME", "LANG", "MY_SETTING", "PATH" }, env.Order());
            Assert.Equal(stateDir, File.ReadAllText(Path.Combine(stateDir, "pwd.txt")).Trim());
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task Agents_created_and_destroyed_concurrently_are_all_in_and_then_all_out_of_the_live_directory()
    {
        // The bench found it: with creates in flight side by side, each publishing its agent, the live set lost some.
        var names = Enumerable.Range(0, 120).Select(i => $"crowd-{i}").ToList();
        var mediator = _hive.Service<MediatR.IMediator>();
        using var go = new Barrier(names.Count);
        // Each from a thread of its own, released together: as many changes publishing side by side as the host allows.
        var created = await Task.WhenAll(names.Select(name => Task.Factory.StartNew(() =>
        {
            go.SignalAndWait();
            return mediator.Send(new Hive.Features.Containers.CreateAgent.Command(name, null, Driver: "external")).GetAwaiter().GetResult().Name;
        }, TaskCreationOptions.LongRunning)));
        Assert.Equal(names, created);
        var directory = _hive.Service<Hive.Shared.Agents.IAgentDirectory>();
        Assert.All(names, name => Assert.True(directory.IsAgent(name), $"{name} is not in the live directory"));
        var listed = (await _hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().Select(a => a.GetProperty("name").GetString()).ToHashSet();
        Assert.Superset(names.ToHashSet(), listed!);

        // In process as the creates: 120 HTTP requests at once would meet the host's budget of connections not yet signed
        // in (a loaded machine reads their heads late, and the budget closes the oldest), which is not what this is about.
        using var again = new Barrier(names.Count);
        await Task.WhenAll(names.Select(name => Task.Factory.StartNew(() =>
        {
            again.SignalAndWait();
            mediator.Send(new Hive.Features.Containers.DestroyAgent.Command(name)).GetAwaiter().GetResult();
        }, TaskCreationOptions.LongRunning)));
        Assert.All(names, name => Assert.False(directory.IsAgent(name), $"{name} is still in the live directory"));
        foreach (var name in names) using (await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) { }
    }

    [Fact]
    public async Task A_chatty_agents_log_stays_under_its_cap_and_its_tail_is_served()
    {
        // A hive of its own: an 8 KiB log cap.
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Containers:LogBytes", "8192");
        const string name = "chatty";
        var script = "i=0; while [ $i -lt 3000 ]; do echo \"line $i of chatter\"; i=$((i+1)); done; echo finished";
        await CreateAsync(hive.Http, Shell(name, "process", script));
        var logs = Path.Combine(hive.DataDir, "agents", name, "logs");
        try
        {
            // Generous: the suite runs many hives side by side on two cores, and CI once took longer than 20 s here.
            await HiveInstance.Until(() => ReadLog(Path.Combine(logs, "output.log")).Contains("finished"),
                TimeSpan.FromSeconds(60), "the agent to finish talking");
        }
        catch (TimeoutException e)
        {
            var row = await RowAsync(hive, name);
            var seen = ReadLog(Path.Combine(logs, "output.log"));
            throw new TimeoutException($"{e.Message}; the agent: {row}; the log's last 600 chars: {seen[^Math.Min(600, seen.Length)..]}", e);
        }

        Assert.InRange(new FileInfo(Path.Combine(logs, "output.log")).Length, 1, 8192);
        Assert.InRange(new FileInfo(Path.Combine(logs, "output.log.1")).Length, 1, 8192);
        var tail = await hive.Http.GetStringAsync($"/api/agents/{name}/logs?tail=3");
        Assert.Equal(["line 2998 of chatter", "line 2999 of chatter", "finished"], tail.TrimEnd('\n').Split('\n'));
        using (var tooMany = await hive.Http.GetAsync($"/api/agents/{name}/logs?tail=10001"))
            Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        await DestroyAsync(hive, name);
    }

    /// <summary>The log as it is now, or empty: the host rotates it (moves it to <c>.1</c>) between any two reads.</summary>
    private static string ReadLog(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return "";
        }
    }

    private const string NotExecutable = "{a script that is not executable}";

    /// <summary>A readable script without the execute bit, removed with the test.</summary>
    private sealed class TempScript : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hive-not-executable-" + Guid.NewGuid().ToString("N")[..8]);

        public TempScript()
        {
            File.WriteAllText(Path, "#!/bin/sh\necho hi\n");
            File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        public void Dispose() => File.Delete(Path);
    }

    public static TheoryData<string, string[], string> UnrunnableCommands()
    {
        return new()
        {
            { "process", ["/no/such/program"], "does not exist" },
            { "process", ["no-such-program-xyz"], "was not found on PATH" },
            { "process", [NotExecutable], "not executable" }, // made by the test itself, and removed
            { "process", ["relative/program"], "absolute path" },
            { "process", ["/tmp"], "is a directory" },
            { "bubblewrap", ["/no/such/program"], "does not exist" },
        };
    }

    [Theory]
    [MemberData(nameof(UnrunnableCommands))]
    public async Task A_command_that_cannot_run_is_refused_with_a_clear_error_and_leaves_nothing_behind(string driver, string[] command, string reason)
    {
        const string name = "cannot-run";
        using var notExecutable = command[0] == NotExecutable ? new TempScript() : null;
        if (notExecutable is not null) command = [notExecutable.Path];
        var (status, problem) = await PostAsync(_hive.Http, "/api/agents", new { name, command, driver });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, Problem.Of(problem).Detail);
        Assert.Null(await RowAsync(_hive, name));
        Assert.False(File.Exists(Path.Combine(_hive.DataDir, "run", name + ".sock")));
        Assert.False(Directory.Exists(Path.Combine(_hive.DataDir, "agents", name)));
    }

    [Fact]
    public async Task The_sandbox_refuses_a_program_it_cannot_see()
    {
        var script = Path.Combine(Path.GetTempPath(), "hive-outside-" + Guid.NewGuid().ToString("N")[..8]);
        await File.WriteAllTextAsync(script, "#!/bin/sh\nsleep 1000\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var (status, problem) = await PostAsync(_hive.Http, "/api/agents", new { name = "unseen", command = new[] { script }, driver = "bubblewrap" });
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("the sandbox cannot see", Problem.Of(problem).Detail);
            Assert.Null(await RowAsync(_hive, "unseen"));
        }
        finally
        {
            File.Delete(script);
        }
    }

    public static TheoryData<string, string> BadBodies() => new()
    {
        { """{"name":"operator","command":["/bin/true"]}""", "reserved" },
        { """{"name":"hive","command":["/bin/true"]}""", "reserved" },
        { """{"name":"manager","driver":"external"}""", "the manager is external already" },
        { """{"name":"ok-name","preset":"claude-code","command":["/bin/true"]}""", "a preset or a command, not both" },
        { """{"name":"ok-name","command":["/bin/true"],"env":{"HOME":"/root"}}""", "HOME is a directory in the agent's state dir" },
        { """{"name":"ok-name","command":["/bin/true"],"env":{"HOME":".."}}""", "HOME is a directory in the agent's state dir" },
        { """{"name":"Bad_Name","command":["/bin/true"]}""", "name must match" },
        { """{"name":"../../etc","command":["/bin/true"]}""", "name must match" },
        { """{"name":"ok-name"}""", "command is required" },
        { """{"name":"ok-name","command":[]}""", "1 to 64" },
        { """{"name":"ok-name","command":["/bin/true"],"driver":"docker"}""", "driver must be one of" },
        { """{"name":"ok-name","command":["/bin/true"],"restart":"sometimes"}""", "restart must be one of" },
        { """{"name":"ok-name","command":["/bin/true"],"env":{"HIVE_SOCKET":"/tmp/x"}}""", "HIVE_* belongs to the hive" },
        { """{"name":"ok-name","command":["/bin/true"],"env":{"BAD-NAME":"x"}}""", "names are" },
        { """{"name":"ok-name","command":["/bin/true"],"mounts":["relative"]}""", "absolute host paths" },
        { """{"name":"ok-name","command":["/bin/true"],"mounts":["/usr/../etc"]}""", "canonical" },
        { """{"name":"ok-name","command":["/bin/true"],"driver":"external"}""", "external agent has no command" },
        { """{"name":"ok-name","name":"other","command":["/bin/true"]}""", "" },
        { """{"name":"ok-name","command":"/bin/true"}""", "" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_input_is_refused_with_a_400_and_changes_nothing(string body, string reason)
    {
        using var response = await _hive.Http.PostAsync("/api/agents", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, Problem.Of(problem).Detail);
        Assert.Null(await RowAsync(_hive, "ok-name"));
        Assert.Null(await RowAsync(_hive, "other"));
    }

    [Fact]
    public async Task A_mount_that_would_show_the_data_dir_is_refused()
    {
        var (status, problem) = await PostAsync(_hive.Http, "/api/agents",
            new { name = "peeker", command = new[] { "/bin/true" }, driver = "bubblewrap", mounts = new[] { Path.GetDirectoryName(_hive.DataDir)! } });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("data dir", Problem.Of(problem).Detail);
    }

    [Fact]
    public async Task A_second_agent_of_the_same_name_is_a_conflict()
    {
        const string name = "twice";
        try
        {
            await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            var (status, problem) = await PostAsync(_hive.Http, "/api/agents", Shell(name, "process", "true"));
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Equal("conflict", Problem.Of(problem).Code);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task An_external_agent_is_registered_with_a_socket_and_no_process()
    {
        const string name = "outsider";
        try
        {
            var row = await CreateAsync(_hive.Http, new { name, driver = "external", purpose = "runs on its own" });
            Assert.Equal("external", row.GetProperty("driver").GetString());
            Assert.Null(row.Pid());
            await using var agent = await _hive.ConnectAsync(name);
            Assert.Equal(name, (await agent.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);

            var (status, problem) = await PostAsync(_hive.Http, $"/api/agents/{name}/start");
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Contains("external", Problem.Of(problem).Detail);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task The_manager_cannot_be_destroyed_and_hostile_route_names_are_refused_before_any_path_is_built()
    {
        using (var response = await _hive.Http.DeleteAsync("/api/agents/manager"))
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        foreach (var hostile in new[] { "..%2F..%2Fetc", "UPPER", "a%00b", "-dash" })
        {
            using var response = await _hive.Http.PostAsync($"/api/agents/{hostile}/start", null);
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{hostile}: {(int)response.StatusCode}");
        }
        using (var response = await _hive.Http.GetAsync("/api/agents/nobody/logs"))
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using (var response = await _hive.Http.DeleteAsync("/api/tombstones/..%2Fagents"))
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
