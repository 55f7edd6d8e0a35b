using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Cli;

/// <summary>
/// The manager's socket verbs through the built hivectl, on the manager's socket of a real hive
/// (requests become approvals the operator sees, <c>list-agents</c>, the lifecycle done at once), and refused with
/// <c>forbidden</c> and exit 1 on any other agent's socket. Each test makes its own agents and decides what it requested.
/// </summary>
public sealed class ManagerCommandsTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    /// <summary>hivectl on <paramref name="agent"/>'s socket, given first: what follows a <c>--</c> is the spawned command's.</summary>
    private Task<HivectlResult> OnSocketAsync(string agent, params string[] args) => Hivectl.RunAsync(["--socket", _hive.SocketPath(agent), .. args]);

    private Task<HivectlResult> ManagerAsync(params string[] args) => OnSocketAsync("manager", args);

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..6];

    private async Task<ApprovalView?> ApprovalAsync(long id) =>
        (await _hive.GetAsync<ApprovalView[]>("/api/approvals?status=all")).FirstOrDefault(a => a.Id == id);

    /// <summary>An agent of the process driver that sleeps, made by the operator (so it has a meta file to propose against).</summary>
    private async Task<string> SleeperAsync()
    {
        var name = Unique("cli-mgr");
        (await fixture.OperatorAsync("agents", "create", name, "--driver", "process", "--purpose", "sleeps", "--json", "--",
            "/bin/sh", "-c", "exec sleep 600")).Ok();
        await HiveInstance.Until(() => StateOf(name) == "running", TimeSpan.FromSeconds(15), $"{name} to run");
        return name;
    }

    private string? StateOf(string name) =>
        _hive.QueryDbList<string>("SELECT state FROM agents WHERE name = @name", new { name }).FirstOrDefault();

    [Fact]
    public async Task Request_spawn_on_the_managers_socket_creates_a_pending_approval_the_operator_sees()
    {
        var name = Unique("wish");
        var reply = (await ManagerAsync("--json", "request-spawn", name, "--purpose", "answers questions", "--driver", "process", "--",
            "/bin/sh", "-c", "exec sleep 600")).Ok().JsonAs<ApprovalReply>();
        var id = reply.ApprovalId;

        var approval = (await _hive.GetAsync<ApprovalView[]>("/api/approvals")).Single(a => a.Id == id);
        Assert.Equal("spawn", approval.Kind);
        Assert.Equal("pending", approval.Status);
        Assert.Equal("manager", approval.Requester);
        var payload = approval.Payload; // each kind's payload is its own shape, with no record: read raw
        Assert.Equal(name, payload.GetProperty("name").GetString());
        Assert.Equal("answers questions", payload.GetProperty("purpose").GetString());
        Assert.Equal(["/bin/sh", "-c", "exec sleep 600"], payload.GetProperty("command").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("process", payload.GetProperty("driver").GetString());
        Assert.Null(StateOf(name)); // nothing runs before the operator approves

        // The human form, and what the hive refuses: a twin of a waiting request, no purpose.
        var other = Unique("wish");
        var said = (await ManagerAsync("request-spawn", other, "--purpose", "x", "--driver", "process", "--", "/bin/true")).Ok().Stdout.Trim();
        var otherId = long.Parse(Regex.Match(said, $@"^spawn of {other} requested: approval #(\d+) waits for the operator$").Groups[1].Value);
        (await ManagerAsync("request-spawn", name, "--purpose", "again", "--driver", "process", "--json", "--", "/bin/true")).Refused("conflict");
        (await ManagerAsync("request-spawn", Unique("wish"), "--driver", "process", "--", "/bin/true")).Refused("validation");
        (await ManagerAsync("request-spawn", Unique("wish"), "--env", "NOEQUALS", "--", "/bin/true")).Usage();

        foreach (var decided in new[] { id, otherId }) (await fixture.OperatorAsync("approvals", "deny", decided.ToString())).Ok();
    }

    [Fact]
    public async Task Request_destroy_and_propose_config_become_approvals_and_nothing_changes_before_the_decision()
    {
        var name = await SleeperAsync();
        var file = Path.Combine(Path.GetTempPath(), $"hive-cli-config-{Guid.NewGuid():N}.json");
        var approvals = new List<long>();
        try
        {
            var destroy = (await ManagerAsync("request-destroy", name, "--reason", "its work is done", "--json")).Ok().JsonAs<ApprovalReply>().ApprovalId;
            approvals.Add(destroy);
            var asked = (await ApprovalAsync(destroy))!;
            Assert.Equal("destroy", asked.Kind);
            Assert.Equal("pending", asked.Status);
            (await ManagerAsync("request-destroy", name)).Refused("validation"); // no reason

            await File.WriteAllTextAsync(file, """{"command": ["/bin/sh", "-c", "exec sleep 601"], "driver": "process", "purpose": "sleeps longer"}""");
            var fromFile = (await ManagerAsync("propose-config", name, "--file", file)).Ok().Stdout.Trim();
            var proposal = long.Parse(Regex.Match(fromFile, $@"^configuration for {name} proposed: approval #(\d+) waits for the operator$").Groups[1].Value);
            approvals.Add(proposal);
            var proposed = (await ApprovalAsync(proposal))!;
            Assert.Equal("config_commit", proposed.Kind);
            Assert.Contains("sleep 601", proposed.Payload.GetProperty("diff").GetString()); // the payload has no record

            var fromStdin = await Hivectl.RunAsync(["--socket", _hive.SocketPath("manager"), "propose-config", name, "--file", "-", "--json"],
                stdin: """{"command": ["/bin/sh", "-c", "exec sleep 602"], "driver": "process", "purpose": "from stdin"}""");
            var stdinProposal = fromStdin.Ok().JsonAs<ApprovalReply>().ApprovalId;
            approvals.Add(stdinProposal);
            var config = (await ApprovalAsync(stdinProposal))!.Payload.GetProperty("config").Deserialize<AgentConfig>(HiveJson.Options)!;
            Assert.Equal("from stdin", config.Purpose);

            // A file that is not a JSON object, no file at all, no --file: nothing is asked.
            await File.WriteAllTextAsync(file, "command = sleep");
            (await ManagerAsync("propose-config", name, "--file", file, "--json")).Refused("validation");
            (await ManagerAsync("propose-config", name, "--file", file + ".missing")).Refused("not_found");
            (await ManagerAsync("propose-config", name)).Usage();
            Assert.Equal(approvals.Order(), (await _hive.GetAsync<ApprovalView[]>("/api/approvals"))
                .Where(a => a.Agent == name).Select(a => a.Id).Order());
            Assert.Equal("running", StateOf(name));
        }
        finally
        {
            foreach (var id in approvals) (await fixture.OperatorAsync("approvals", "deny", id.ToString())).Ok();
            File.Delete(file);
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task List_agents_lists_the_hives_agents_and_start_stop_restart_rebuild_act_on_one()
    {
        var name = await SleeperAsync();
        try
        {
            // Agent rows, raw: they are assembled at run time and have no record.
            var listed = (await ManagerAsync("list-agents", "--json")).Ok().Json.GetProperty("agents").EnumerateArray()
                .ToDictionary(a => a.GetProperty("name").GetString()!, a => a.Clone());
            Assert.Subset(listed.Keys.ToHashSet(), new HashSet<string> { "alice", "bob", "manager", name });
            Assert.Equal("process", listed[name].GetProperty("driver").GetString());
            var table = (await ManagerAsync("list-agents")).Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("AGENT", table[0]);
            Assert.Contains(table, l => l.StartsWith(name + " ", StringComparison.Ordinal) && l.Contains("running"));

            var stopped = (await ManagerAsync("stop", name, "--json")).Ok().Json.GetProperty("agent");
            Assert.Equal("stopped", stopped.GetProperty("state").GetString());
            Assert.Equal("stopped", stopped.GetProperty("desired").GetString());
            Assert.Equal("stopped", StateOf(name));

            Assert.StartsWith($"{name}: running (desired running, driver process, pid ", (await ManagerAsync("start", name)).Ok().Stdout.Trim());
            Assert.Equal("running", StateOf(name));
            var pid = (await RowAsync(_hive, name))!.Value.Pid();

            var restarted = (await ManagerAsync("restart", name, "--json")).Ok().Json.GetProperty("agent");
            Assert.Equal("running", restarted.GetProperty("state").GetString());
            Assert.NotEqual(pid, restarted.Pid());
            var rebuilt = (await ManagerAsync("rebuild", name, "--json")).Ok().Json.GetProperty("agent");
            Assert.Equal("running", rebuilt.GetProperty("state").GetString());
            Assert.NotEqual(restarted.Pid(), rebuilt.Pid());

            // The manager cannot aim one at itself; an unknown agent is not found.
            (await ManagerAsync("stop", "manager", "--json")).Refused("forbidden");
            (await ManagerAsync("start", Unique("nobody"))).Refused("not_found");
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task The_managers_commands_on_another_agents_socket_are_forbidden_exit_1_and_record_nothing()
    {
        var file = Path.Combine(Path.GetTempPath(), $"hive-cli-config-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{"command": ["/bin/true"]}""");
        try
        {
            var before = (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength();
            string[][] commands =
            [
                ["request-spawn", Unique("wish"), "--purpose", "x", "--", "/bin/true"], ["request-destroy", "bob", "--reason", "x"],
                ["propose-config", "bob", "--file", file], ["list-agents"],
                ["start", "bob"], ["stop", "bob"], ["restart", "bob"], ["rebuild", "bob"],
            ];
            foreach (var command in commands)
            {
                var run = (await OnSocketAsync("alice", ["--json", .. command])).Refused("forbidden");
                Assert.Contains("only the manager may do this", run.JsonAs<Refusal>().Error);
                // The refusal says whose socket it was, in the text form too.
                var text = (await OnSocketAsync("alice", command)).Refused("forbidden");
                Assert.Contains($"{_hive.SocketPath("alice")} is alice's socket, and {command[0]} works only on the manager's", text.Stderr);
            }
            Assert.Equal(before, (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength());

            // With no socket at all: a usage error that names the operator's own command.
            var usage = (await Hivectl.RunAsync(["stop", "bob"])).Usage();
            Assert.Contains("hivectl agents stop NAME", usage.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Request_spawn_sends_each_option_as_the_verbs_field_and_leaves_out_those_not_given()
    {
        // What goes on the wire, seen by a socket that records the request (the hive's own checks of these fields are its tests').
        var dir = Directory.CreateTempSubdirectory("hive-cli-sock-").FullName;
        try
        {
            var path = Path.Combine(dir, "manager.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            await SpawnFieldsAsync(listener, path);
        }
        finally
        {
            await TestDirectories.DeleteAsync(dir);
        }
    }

    private static async Task SpawnFieldsAsync(Socket listener, string path)
    {
        var seen = AnswerOneAsync(listener);

        var run = await Hivectl.RunAsync(["request-spawn", "helper", "--socket", path, "--json", "--purpose", "helps", "--preset", "claude-code",
            "--driver", "bubblewrap", "--env", "A=1", "--env", "B=x=y", "--secret", "ANTHROPIC_API_KEY=anthropic", "--mount", "/srv/data",
            "--mount", "/srv/more", "--", "claude", "-p", "hi"]);
        Assert.Equal(7, run.Ok().JsonAs<ApprovalReply>().ApprovalId);
        var request = (await seen).RootElement;
        var args = request.Deserialize<SpawnArgs>(HiveJson.Options)!;
        Assert.Equal("request_spawn", request.GetProperty("op").GetString()); // the line's verb: no field of the arguments' record
        Assert.Equal("helper", args.Name);
        Assert.Equal("helps", args.Purpose);
        Assert.Equal("claude-code", args.Preset);
        Assert.Equal("bubblewrap", args.Driver);
        Assert.Equal(["claude", "-p", "hi"], args.Command!);
        // The maps as written on the wire, raw: their exact text.
        Assert.Equal("""{"A":"1","B":"x=y"}""", request.GetProperty("env").GetRawText());
        Assert.Equal("""{"ANTHROPIC_API_KEY":"anthropic"}""", request.GetProperty("secrets").GetRawText());
        Assert.Equal(["/srv/data", "/srv/more"], args.Mounts!);

        seen = AnswerOneAsync(listener);
        (await Hivectl.RunAsync(["request-spawn", "bare", "--socket", path])).Ok();
        Assert.Equal(["name", "op"], (await seen).RootElement.EnumerateObject().Select(p => p.Name).Order());

        (await Hivectl.RunAsync(["request-spawn", "twice", "--socket", path, "--secret", "K=a", "--secret", "K=b"])).Usage();
    }

    /// <summary>Takes one connection, reads its one request line, answers <c>{"ok":true,"approval_id":7}</c>.</summary>
    private static async Task<JsonDocument> AnswerOneAsync(Socket listener)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var connection = await listener.AcceptAsync(deadline.Token);
        await using var stream = new NetworkStream(connection);
        using var reader = new StreamReader(stream, new UTF8Encoding(false));
        var line = await reader.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("no request");
        await stream.WriteAsync(Encoding.UTF8.GetBytes("""{"ok":true,"approval_id":7}""" + "\n"), deadline.Token);
        return JsonDocument.Parse(line);
    }
}
