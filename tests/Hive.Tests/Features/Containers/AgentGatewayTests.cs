using Hive.Shared;
using Hive.Shared.Gateway;
using Hive.Tests.Cli;
using Microsoft.Extensions.DependencyInjection;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>A hive whose agents have gateways the test serves (<see cref="TestGateways"/>).</summary>
public sealed class GatewayFixture : HiveFixture
{
    protected override string[] Args => ["--Hive:Containers:StopGraceSeconds", "2"];

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IAgentGateways, TestGateways>();
}

/// <summary>
/// Every agent's gateway is a socket beside its own, <c>run/NAME.probe.sock</c> (the test serves it; the real gateway's own doors are beside it), behind
/// <c>ANTHROPIC_BASE_URL</c> + <c>/probe</c> with a placeholder key of its own; an agent whose provider is <c>none</c> has none.
/// </summary>
internal sealed class TestGateways(HivePaths paths) : IAgentGateways
{
    public const string NoGateway = "none";

    public static string Placeholder(string agent) => $"hive-placeholder-{agent}";

    public static string SocketOf(HiveInstance hive, string agent) => Path.Combine(hive.DataDir, "run", $"{agent}.probe.sock");

    public AgentGatewayAccess? For(string agent, string? provider) => provider == NoGateway
        ? null
        : new AgentGatewayAccess(Path.Combine(paths.RunDir, $"{agent}.probe.sock"), "ANTHROPIC_BASE_URL", "/probe", "ANTHROPIC_API_KEY", Placeholder(agent));
}

/// <summary>
/// An agent reaches its gateway without any key: under the process driver and in a bubblewrap sandbox (as its
/// own user, the suite running as root), the agent's command runs behind <c>hivectl port</c>; a request it sends to
/// <c>$ANTHROPIC_BASE_URL</c> with <c>x-api-key: $ANTHROPIC_API_KEY</c> reaches the gateway's socket with the
/// placeholder, and its environment holds the placeholder and no other key. An agent whose own configuration sets the
/// base URL runs as configured, with no port, and its row says its calls are not metered.
/// </summary>
public sealed class AgentGatewayTests(GatewayFixture fixture) : SharedHiveTests(fixture), IClassFixture<GatewayFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;
    private static int _made;

    // One request as a model client sends it, by bash alone, to the URL and with the key its environment holds.
    private const string Call = """
        u=${ANTHROPIC_BASE_URL#http://}; hp=${u%%/*}; prefix=${u#*/}
        exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}" || { echo "no port at $ANTHROPIC_BASE_URL"; exit 99; }
        printf 'POST /%s/v1/messages HTTP/1.1\r\nhost: hive\r\nx-api-key: %s\r\ncontent-length: 2\r\n\r\n{}' "$prefix" "$ANTHROPIC_API_KEY" >&3
        IFS= read -r line <&3; echo "answer: ${line%$'\r'}"
        exec 3<&-
        exec sleep 1000
        """;

    private static string NewName(string driver) => $"gw-{driver[..4]}-{Interlocked.Increment(ref _made)}";

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task An_agent_calls_its_gateway_through_the_port_with_the_placeholder_and_holds_no_other_key(string driver)
    {
        var name = NewName(driver);
        await using var gateway = new FakeGatewaySocket(TestGateways.SocketOf(_hive, name));
        await CreateAsync(_hive.Http, new { name, command = new[] { "/bin/bash", "-c", Call }, driver, restart = "never" });
        try
        {
            var head = (await gateway.NextHeadAsync()).Split("\r\n");
            Assert.Equal("POST /probe/v1/messages HTTP/1.1", head[0]);
            Assert.Contains($"x-api-key: {TestGateways.Placeholder(name)}", head);

            var row = (await RowAsync(_hive, name))!.Value;
            Assert.Equal("gateway", row.GetProperty("model_calls").GetString());
            // The agent's own processes: the port (hivectl) and its child, the command (by now its sleep); each holds the
            // placeholder, and the command the port's URL.
            // The command sent its request before it execs its sleep: wait for the sleep.
            await HiveInstance.Until(() => ProcessTable.Family(row.Pid()!.Value).Any(p => ProcessTable.CommandLine(p).StartsWith("sleep 1000", StringComparison.Ordinal)),
                what: "the command to exec its sleep");
            var family = ProcessTable.Family(row.Pid()!.Value);
            var port = Assert.Single(family, p => ProcessTable.CommandLine(p).Contains("hivectl.dll port ", StringComparison.Ordinal));
            var command = Assert.Single(family, p => ProcessTable.CommandLine(p).StartsWith("sleep 1000", StringComparison.Ordinal));
            foreach (var pid in new[] { port, command })
            {
                var environment = ProcessTable.Environment(pid)!;
                Assert.Equal(TestGateways.Placeholder(name), environment["ANTHROPIC_API_KEY"]);
                Assert.DoesNotContain(environment, kv => kv.Key != "ANTHROPIC_API_KEY" && kv.Key.EndsWith("_KEY", StringComparison.Ordinal));
            }
            Assert.Matches(@"^http://127\.0\.0\.1:\d+/probe$", ProcessTable.Environment(command)!["ANTHROPIC_BASE_URL"]);
            Assert.False(ProcessTable.Environment(port)!.ContainsKey("ANTHROPIC_BASE_URL"));
            if (Environment.IsPrivilegedProcess) Assert.DoesNotMatch(@"(?m)^Uid:\s+0\s", File.ReadAllText($"/proc/{port}/status")); // the agent's own user
            await HiveInstance.Until(() => AgentLog(name).Contains("answer: HTTP/1.1 200 OK"), what: "the answer in the agent's log");
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task An_agent_whose_command_is_hivectl_run_has_one_hivectl_the_port_running_its_harness_in_process(string driver)
    {
        var name = NewName(driver);
        await using var gateway = new FakeGatewaySocket(TestGateways.SocketOf(_hive, name));
        var row = await CreateAsync(_hive.Http, new { name, command = new[] { "hivectl", "run", "--", "/bin/bash", "-c", Call }, driver, restart = "never" });
        try
        {
            using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body = "a turn that calls the model" }))
                sent.EnsureSuccessStatusCode();
            var head = (await gateway.NextHeadAsync()).Split("\r\n");
            Assert.Equal("POST /probe/v1/messages HTTP/1.1", head[0]);
            Assert.Contains($"x-api-key: {TestGateways.Placeholder(name)}", head);

            await HiveInstance.Until(() => ProcessTable.Family(row.Pid()!.Value).Any(p => ProcessTable.CommandLine(p).StartsWith("sleep 1000", StringComparison.Ordinal)),
                what: "the turn's command to exec its sleep");
            var family = ProcessTable.Family(row.Pid()!.Value);
            // One runtime for the port and the harness: the port runs `hivectl run` itself rather than as a child.
            var hivectl = Assert.Single(family, p => ProcessTable.CommandLine(p).Contains("hivectl.dll", StringComparison.Ordinal));
            Assert.Contains("hivectl.dll port ", ProcessTable.CommandLine(hivectl), StringComparison.Ordinal);
            var command = Assert.Single(family, p => ProcessTable.CommandLine(p).StartsWith("sleep 1000", StringComparison.Ordinal));
            Assert.Matches(@"^http://127\.0\.0\.1:\d+/probe$", ProcessTable.Environment(command)!["ANTHROPIC_BASE_URL"]);
            Assert.Equal(TestGateways.Placeholder(name), ProcessTable.Environment(command)!["ANTHROPIC_API_KEY"]);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task A_harness_run_in_its_port_takes_a_turn_and_a_stop_ends_it_with_exit_0(string driver)
    {
        var name = NewName(driver);
        await using var gateway = new FakeGatewaySocket(TestGateways.SocketOf(_hive, name));
        await CreateAsync(_hive.Http, new
        {
            name, driver, restart = "never", command = new[] { "hivectl", "run", "--", "/bin/sh", "-c", "cat >> \"$HIVE_STATE_DIR/turns.txt\"" },
        });
        try
        {
            using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body = "a turn before the stop" }))
                sent.EnsureSuccessStatusCode();
            var turns = Path.Combine(_hive.DataDir, "agents", name, "state", "turns.txt");
            await HiveInstance.Until(() => File.Exists(turns) && File.ReadAllText(turns).Contains("a turn before the stop"), what: "the turn's command to get its message");

            // The harness has its own signal handlers by now (it ran a turn): the stop's SIGTERM reaches them, not the port's.
            var (status, stopped) = await PostAsync(_hive.Http, $"/api/agents/{name}/stop");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("stopped", stopped.State());
            await HiveInstance.Until(() => AgentLog(name).Contains("exited with code 0"), what: "the harness's own exit 0 in the agent's log");
            Assert.DoesNotContain("exited on signal", AgentLog(name));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task A_sealed_agent_still_calls_its_gateway_through_the_port_on_its_own_loopback(string driver)
    {
        if (driver == "process" && !Environment.IsPrivilegedProcess) return; // the process driver seals on a root host only (the suite runs as root)
        var name = NewName(driver);
        await using var gateway = new FakeGatewaySocket(TestGateways.SocketOf(_hive, name));
        await CreateAsync(_hive.Http, new { name, command = new[] { "/bin/bash", "-c", Call }, driver, restart = "never", network = "sealed" });
        try
        {
            var head = (await gateway.NextHeadAsync()).Split("\r\n");
            Assert.Equal("POST /probe/v1/messages HTTP/1.1", head[0]);
            Assert.Contains($"x-api-key: {TestGateways.Placeholder(name)}", head);
            await HiveInstance.Until(() => AgentLog(name).Contains("answer: HTTP/1.1 200 OK"), what: "the answer in the agent's log");
            Assert.Contains(", sealed:", AgentLog(name));
            // In a network namespace of its own: not the host's.
            var row = (await RowAsync(_hive, name))!.Value;
            var command = ProcessTable.Family(row.Pid()!.Value).First(p => ProcessTable.CommandLine(p).Contains("hivectl.dll port ", StringComparison.Ordinal));
            Assert.NotEqual(new FileInfo("/proc/self/ns/net").LinkTarget, new FileInfo($"/proc/{command}/ns/net").LinkTarget);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task An_agent_whose_own_configuration_sets_the_base_url_runs_as_configured_and_is_not_metered(string driver)
    {
        var name = NewName(driver);
        await using var gateway = new FakeGatewaySocket(TestGateways.SocketOf(_hive, name));
        var script = "echo \"base: $ANTHROPIC_BASE_URL key: ${ANTHROPIC_API_KEY:-none}\"; exec sleep 1000";
        await CreateAsync(_hive.Http, new
        {
            name, command = new[] { "/bin/bash", "-c", script }, driver, restart = "never", network = "open", // sealed, it would run behind the port for its proxy
            env = new Dictionary<string, string> { ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9/own" },
        });
        try
        {
            await HiveInstance.Until(() => AgentLog(name).Contains("base: http://127.0.0.1:9/own key: none"), what: "its own configuration in its log");
            var row = (await RowAsync(_hive, name))!.Value;
            Assert.Equal("not_metered", row.GetProperty("model_calls").GetString());
            Assert.DoesNotContain(ProcessTable.Family(row.Pid()!.Value), p => ProcessTable.CommandLine(p).Contains("hivectl.dll port ", StringComparison.Ordinal));
            Assert.False(gateway.AnyHead);
            Assert.Contains("model calls not metered", AgentLog(name));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task An_agent_without_a_gateway_runs_as_before_and_its_row_says_nothing_of_model_calls()
    {
        var name = NewName("process");
        await CreateAsync(_hive.Http, new
        {
            name, command = new[] { "/bin/bash", "-c", "echo \"key: ${ANTHROPIC_API_KEY:-none} base: ${ANTHROPIC_BASE_URL:-none}\"; exec sleep 1000" },
            driver = "process", restart = "never", provider = TestGateways.NoGateway,
        });
        try
        {
            await HiveInstance.Until(() => AgentLog(name).Contains("key: none base: none"), what: "its environment in its log");
            var row = (await RowAsync(_hive, name))!.Value;
            Assert.Equal(JsonValueKind.Null, row.GetProperty("model_calls").ValueKind);
            Assert.DoesNotContain(ProcessTable.Family(row.Pid()!.Value), p => ProcessTable.CommandLine(p).Contains("hivectl.dll port ", StringComparison.Ordinal));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_create_whose_gateway_socket_is_not_there_is_refused_and_says_so()
    {
        var name = NewName("process");
        var (status, problem) = await PostAsync(_hive.Http, "/api/agents",
            new { name, command = new[] { "/bin/sleep", "1000" }, driver = "process", restart = "never" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"the gateway's socket for {name} ({TestGateways.SocketOf(_hive, name)}) is not there", problem.GetRawText());
        Assert.Null(await RowAsync(_hive, name));
    }

    private string AgentLog(string name)
    {
        var dir = Path.Combine(_hive.DataDir, "agents", name, "logs");
        return Directory.Exists(dir) ? string.Concat(Directory.EnumerateFiles(dir).Order().Select(ReadShared)) : "";
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }
}
