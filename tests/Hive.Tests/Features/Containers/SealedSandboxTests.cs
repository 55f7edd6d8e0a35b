using System.Net.Sockets;
using Hive.Shared;
using Hive.Shared.Egress;
using Hive.Tests.Cli;
using Microsoft.Extensions.DependencyInjection;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>A hive whose agents have an egress proxy when the test serves its socket (<see cref="TestEgress"/>).</summary>
public sealed class SealedFixture : HiveFixture
{
    protected override string[] Args => ["--Hive:Containers:StopGraceSeconds", "2"];

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IAgentEgress, TestEgress>();
}

/// <summary>An agent's egress proxy is <c>run/NAME.egress-test.sock</c> when the test serves it there, else it has none.</summary>
internal sealed class TestEgress(HivePaths paths) : IAgentEgress
{
    public static string SocketOf(HiveInstance hive, string agent) => Path.Combine(hive.DataDir, "run", $"{agent}.egress-test.sock");

    public AgentEgressAccess? For(string agent) =>
        Path.Combine(paths.RunDir, $"{agent}.egress-test.sock") is var socket && File.Exists(socket) ? new AgentEgressAccess(socket) : null;
}

/// <summary>
/// A sealed agent (<c>"network": "sealed"</c>, ADR 0001), proven from inside under bubblewrap and under the process driver
/// of a root host (the suite runs as root): a script in the agent tries the test's loopback TCP server, the hive's
/// dashboard port, a name lookup, UDP to the test's loopback listener (judged on the listener's side: a loopback send
/// "succeeds" into the agent's own lo), an AF_VSOCK socket, taking its lo down, and <c>hivectl whoami</c> over its socket.
/// An open agent runs the same script and reaches the servers, so the sealed results are not empty ones. A sealed agent
/// with an egress proxy runs behind <c>hivectl port --proxy</c>: its <c>HTTPS_PROXY</c> reaches the proxy's socket.
/// </summary>
public sealed class SealedSandboxTests(SealedFixture fixture) : SharedHiveTests(fixture), IClassFixture<SealedFixture>, IDisposable
{
    private readonly HiveInstance _hive = fixture.Hive;
    private readonly TcpListener _tcp = StartTcp();
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private int _tcpConnections;
    private static int _made;

    private static TcpListener StartTcp()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    private int TcpPort => ((IPEndPoint)_tcp.LocalEndpoint).Port;
    private int UdpPort => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

    private async Task AcceptAsync()
    {
        while (true)
        {
            try
            {
                using var client = await _tcp.AcceptTcpClientAsync();
                Interlocked.Increment(ref _tcpConnections);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    private string ProbeScript() =>
        "exec > \"$HIVE_STATE_DIR/net.txt\" 2>&1\n"
        + "probe() { key=$1; shift; if \"$@\" >/dev/null 2>&1; then echo \"$key:reached\"; else echo \"$key:denied\"; fi; }\n"
        + $"probe tcp-loopback bash -c 'exec 3<>/dev/tcp/127.0.0.1/{TcpPort}'\n"
        + $"probe tcp-dashboard bash -c 'exec 3<>/dev/tcp/127.0.0.1/{_hive.BaseAddress.Port}'\n"
        + "probe dns getent hosts example.org\n"
        + $"python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b\"udp-from-'\"$HIVE_AGENT\"'\", (\"127.0.0.1\", {UdpPort}))' >/dev/null 2>&1; echo \"udp-sent:$?\"\n"
        // An address outside every network here (198.18/15 is for tests): sealed, there is no route to send it by.
        + "probe udp-outside python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b\"x\", (\"198.18.255.254\", 9))'\n"
        + "probe vsock python3 -c 'import socket; socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)'\n"
        + "probe lo-down ip link set lo down\n"
        + "echo \"lo:$(ip -o link show lo 2>&1 | sed 's/^[^<]*<\\([^>]*\\)>.*/\\1/')\"\n"
        + "echo \"whoami:$(hivectl whoami 2>&1 | head -1)\"\n"
        + "echo \"python3:$(command -v python3 || echo none)\"\n"
        + "echo done\n";

    /// <summary>Runs the probe script as a new agent; its results, once it wrote them all.</summary>
    private async Task<(string Name, Dictionary<string, string> Lines)> ProbeAsync(string driver, string? network)
    {
        var name = $"seal-{driver[..4]}-{Interlocked.Increment(ref _made)}";
        _ = AcceptAsync();
        await CreateAsync(_hive.Http, new
        {
            name, command = new[] { "/bin/bash", "-c", ProbeScript() + "exec sleep 1000" }, driver, restart = "never", network,
        });
        var results = Path.Combine(_hive.DataDir, "agents", name, "state", "net.txt");
        await HiveInstance.Until(() => File.Exists(results) && File.ReadAllText(results).Contains("done\n"), TimeSpan.FromSeconds(60), "the network probes");
        var lines = File.ReadAllLines(results).Where(l => l.Contains(':')).Select(l => l.Split(':', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        Assert.NotEqual("none", lines["python3"]);
        return (name, lines);
    }

    /// <summary>The datagrams that reached the test's UDP listener by now (a loopback send has arrived once it returned).</summary>
    private List<string> Received()
    {
        var received = new List<string>();
        while (_udp.Available > 0)
        {
            IPEndPoint? from = null;
            received.Add(System.Text.Encoding.ASCII.GetString(_udp.Receive(ref from)));
        }
        return received;
    }

    [Theory]
    [InlineData("bubblewrap")]
    [InlineData("process")]
    public async Task A_sealed_agent_reaches_its_hive_socket_and_nothing_of_the_hosts_network(string driver)
    {
        if (driver == "process" && !Environment.IsPrivilegedProcess) return; // the process driver seals on a root host only (the suite runs as root)
        var (name, lines) = await ProbeAsync(driver, "sealed");
        try
        {
            Assert.Equal("denied", lines["tcp-loopback"]);
            Assert.Equal(0, Volatile.Read(ref _tcpConnections));
            Assert.Equal("denied", lines["tcp-dashboard"]);
            Assert.Equal("denied", lines["dns"]);
            Assert.Empty(Received()); // its send "succeeded" (udp-sent:0) into its own lo, or failed: nothing reached the host's
            Assert.Equal("denied", lines["udp-outside"]);
            Assert.Equal("denied", lines["lo-down"]);
            Assert.Contains("UP", lines["lo"].Split(',')); // its own lo, up: the port listens there
            Assert.Equal(name, lines["whoami"]);
            // Bubblewrap's seccomp filter refuses the families a netns does not hold; the process driver has no filter.
            if (driver == "bubblewrap") Assert.Equal("denied", lines["vsock"]);
            Assert.Contains(", sealed:", await File.ReadAllTextAsync(Path.Combine(_hive.DataDir, "agents", name, "logs", "output.log")));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("bubblewrap")]
    [InlineData("process")]
    public async Task An_open_agent_reaches_the_hosts_loopback_so_the_sealed_results_are_not_empty_ones(string driver)
    {
        var (name, lines) = await ProbeAsync(driver, "open");
        try
        {
            Assert.Equal("reached", lines["tcp-loopback"]);
            Assert.Equal("reached", lines["tcp-dashboard"]);
            Assert.Contains($"udp-from-{name}", Received());
            // With the host's default route, the same send goes out (to no one): the sealed "denied" is the missing route.
            if (File.ReadLines("/proc/net/route").Skip(1).Any(l => l.Split('\t') is [_, "00000000", ..])) Assert.Equal("reached", lines["udp-outside"]);
            Assert.Equal(name, lines["whoami"]);
            if (driver == "bubblewrap") Assert.Equal("denied", lines["vsock"]); // the filter holds for open agents too
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("bubblewrap")]
    [InlineData("process")]
    public async Task A_sealed_agent_with_an_egress_proxy_reaches_its_socket_through_its_https_proxy(string driver)
    {
        if (driver == "process" && !Environment.IsPrivilegedProcess) return; // the process driver seals on a root host only (the suite runs as root)
        var name = $"egress-{driver[..4]}-{Interlocked.Increment(ref _made)}";
        await using var proxy = new FakeGatewaySocket(TestEgress.SocketOf(_hive, name));
        // A CONNECT as a client sends it to $HTTPS_PROXY, by bash alone.
        const string script = """
            echo "proxy: $HTTPS_PROXY no_proxy: $NO_PROXY"
            u=${HTTPS_PROXY#http://}
            exec 3<>"/dev/tcp/${u%:*}/${u#*:}" || { echo "no port at $HTTPS_PROXY"; exit 99; }
            printf 'CONNECT example.org:443 HTTP/1.1\r\nhost: example.org:443\r\n\r\n' >&3
            IFS= read -r line <&3; echo "answer: ${line%$'\r'}"
            exec sleep 1000
            """;
        await CreateAsync(_hive.Http, new { name, command = new[] { "/bin/bash", "-c", script }, driver, restart = "never", network = "sealed" });
        try
        {
            Assert.StartsWith("CONNECT example.org:443 HTTP/1.1", await proxy.NextHeadAsync());
            await HiveInstance.Until(() => AgentLog(name).Contains("answer: HTTP/1.1 200 OK"), what: "the proxy's answer in the agent's log");
            Assert.Matches(@"proxy: http://127\.0\.0\.1:\d+ no_proxy: 127\.0\.0\.1,localhost,::1", AgentLog(name));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("bubblewrap")]
    [InlineData("process")]
    public async Task A_sealed_agents_terminal_is_sealed_too(string driver)
    {
        if (driver == "process" && !Environment.IsPrivilegedProcess) return; // the process driver seals on a root host only (the suite runs as root)
        var name = $"seal-term-{driver[..4]}-{Interlocked.Increment(ref _made)}";
        _ = AcceptAsync();
        await CreateAsync(_hive.Http, new { name, command = new[] { "/bin/sh", "-c", "exec sleep 1000" }, driver, restart = "never", network = "sealed" });
        try
        {
            await using var terminal = await TerminalSocket.OpenAsync(_hive, name);
            var output = await terminal.RunAsync(
                $"(exec 3<>/dev/tcp/127.0.0.1/{TcpPort}) 2>/dev/null && r=reach || r=deni; echo \"tcp=${{r}}ed\"; echo \"links=<$(ip -o link show | wc -l)>\"; echo \"<$((40+2))-end>\"",
                "<42-end>");
            Assert.Contains("tcp=denied", output);
            Assert.Contains("links=<1>", output); // lo alone
            Assert.Equal(0, Volatile.Read(ref _tcpConnections));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task An_open_agent_gets_no_proxy_even_when_the_hive_has_one_for_it()
    {
        var name = $"egress-open-{Interlocked.Increment(ref _made)}";
        await using var proxy = new FakeGatewaySocket(TestEgress.SocketOf(_hive, name));
        await CreateAsync(_hive.Http, new
        {
            name, command = new[] { "/bin/bash", "-c", "echo \"proxy: ${HTTPS_PROXY:-none}\"; exec sleep 1000" }, driver = "bubblewrap", restart = "never",
            network = "open", // bubblewrap agents are sealed unless they say otherwise
        });
        try
        {
            await HiveInstance.Until(() => AgentLog(name).Contains("proxy: none"), what: "its environment in its log");
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    private string AgentLog(string name)
    {
        var log = Path.Combine(_hive.DataDir, "agents", name, "logs", "output.log");
        return File.Exists(log) ? File.ReadAllText(log) : "";
    }

    void IDisposable.Dispose()
    {
        _tcp.Stop();
        _udp.Dispose();
        base.Dispose();
    }
}
