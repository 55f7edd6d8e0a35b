using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Hive.Bench.Infrastructure;
using Hive.Features.Egress.Proxy;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// Figures for the egress proxy: the built host runs as a child process with one sleeping process agent whose
/// egress names the test network's server (<see cref="TestNetwork"/>: a veth into a network namespace, the server in this
/// process, ADR 0001 F6), by its address. (1) A 100 MB download from that server, read whole <c>--rounds</c> times along
/// each of five paths, the paths taking turns within a round: direct (TCP to the server); a bare relay of this process's
/// own between a Unix socket and the server, by a copy loop and by the proxy's splice(2) pump (the floors of a relay
/// with one more hop, without the host's process, head, policy or record); the agent's
/// egress door (its Unix socket, CONNECT); and the door behind <c>hivectl port --proxy</c> (TCP on loopback, CONNECT, as
/// an agent's HTTPS_PROXY reaches it). Each as MB/s and as a ratio of direct (goal ≥ 0.8). (2) Connections per second
/// through the door and through the port: <c>--count</c> CONNECTs one after another, each reading the server's two bytes
/// to the end, every one checked, connected and recorded (audit log and attempts) as an agent's would be; and the same
/// with 8 at a time. Needs a root host (the test network).
/// </summary>
internal sealed class EgressBench : IBenchMode
{
    public string Name => "egress";
    public string Summary => "the egress proxy: 100 MB download direct, through bare relays (copy, splice), the door, the port + door (ratios, goal >= 0.8), connections per second";

    private const long DownloadBytes = 100L * 1000 * 1000;
    private const string Established = "HTTP/1.1 200 Connection established\r\n\r\n";

    public async Task<int> RunAsync(BenchOptions options)
    {
        if (TestNetwork.Unavailable is { } why)
        {
            Console.WriteLine($"egress bench needs a test network: {why}");
            return 2;
        }
        var rounds = Math.Max(3, options.Rounds);
        var count = Math.Clamp(options.Count, 100, 20_000);
        var root = TempRoot(Name);
        PrintHeader("Hive egress proxy benchmark (issue 44)", root);
        using var network = TestNetwork.Create();
        var chunk = new byte[256 * 1024];
        Random.Shared.NextBytes(chunk);
        var download = network.Listen(async connection =>
        {
            for (var sent = 0L; sent < DownloadBytes; sent += chunk.Length)
                await connection.SendAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, DownloadBytes - sent)));
            connection.Shutdown(SocketShutdown.Send);
        });
        var small = network.Listen(async connection =>
        {
            await connection.SendAsync("ok"u8.ToArray());
            connection.Shutdown(SocketShutdown.Send);
        });
        Process? port = null;
        try
        {
            await using var host = await HostProcess.StartAsync(Path.Combine(root, "data"), [], extraArgs: ["--Logging:LogLevel:Default", "Warning"]);
            using var http = host.CreateClient();
            (await http.PostAsJsonAsync("/api/agents", new
            {
                name = "alice", driver = "process", command = new[] { "sleep", "1000000" },
                egress = new[] { $"{download.Address}:{download.Port}", $"{small.Address}:{small.Port}" },
            })).EnsureSuccessStatusCode();
            var door = Path.Combine(host.DataDir, "run", "alice.egress.sock");
            using var relay = BareRelay.Start(Path.Combine(root, "relay.sock"), download, splice: false);
            using var spliceRelay = BareRelay.Start(Path.Combine(root, "splice.sock"), download, splice: true);
            (port, var proxy) = await StartPortAsync(door);
            Console.WriteLine($"host pid {host.ProcessId}; server {network.Address} on {network.Link}; door {door}; hivectl port pid {port.Id} on {proxy}");
            Console.WriteLine($"{rounds} × 100 MB per path, {count} connections; load {LoadAverage()}");

            var paths = new (string Name, Func<Task<double>> Run)[]
            {
                ("direct", () => DirectAsync(download)),
                ("bare copy loop", () => ThroughUnixAsync(relay.Path, null)),
                ("bare splice", () => ThroughUnixAsync(spliceRelay.Path, null)),
                ("door", () => ThroughUnixAsync(door, download)),
                ("port + door", () => ThroughPortAsync(proxy, download)),
            };
            foreach (var (_, run) in paths) await run(); // warm-up: the JIT past its tiers on every side
            var rates = paths.Select(_ => new List<double>()).ToArray();
            for (var i = 0; i < rounds; i++)
                for (var p = 0; p < paths.Length; p++)
                    rates[p].Add(await paths[p].Run());
            var direct = Stats.Median(rates[0]);
            Console.WriteLine($"100 MB download, median of {rounds} (each round's paths in turn); ratio = median / direct's median, [range of the rounds' own ratios]:");
            for (var p = 0; p < paths.Length; p++)
            {
                var own = rates[p].Select((r, i) => r / rates[0][i]).ToList();
                var ratio = Stats.Median(rates[p]) / direct;
                Console.WriteLine($"  {paths[p].Name,-15} {Stats.F(Stats.Median(rates[p]), 0),5} MB/s  ratio {Stats.F(ratio, 2)} [{Stats.F(own.Min(), 2)}–{Stats.F(own.Max(), 2)}]" +
                                  $"{(p >= 3 ? $" (goal >= 0.8: {(ratio >= 0.8 ? "met" : "MISSED")})" : "")}   ({string.Join(", ", rates[p].Select(x => Stats.F(x, 0)))})");
            }

            foreach (var (name, connect) in new (string, Func<Task<Socket>>)[] { ("door", () => OpenDoorAsync(door)), ("port + door", () => OpenPortAsync(proxy)) })
            {
                for (var i = 0; i < 50; i++) await SmallAsync(connect, small);
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < count; i++) await SmallAsync(connect, small);
                var serial = count / Stats.Seconds(Stopwatch.GetTimestamp() - started);
                started = Stopwatch.GetTimestamp();
                var next = 0;
                await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
                {
                    while (Interlocked.Increment(ref next) <= count) await SmallAsync(connect, small);
                }));
                var parallel = count / Stats.Seconds(Stopwatch.GetTimestamp() - started);
                Console.WriteLine($"connections through the {name}: {Stats.F(serial, 0)}/s one at a time, {Stats.F(parallel, 0)}/s 8 at a time ({count} each; each checked, connected, recorded)");
            }
            Console.WriteLine($"load average at end: {LoadAverage()}");
            return 0;
        }
        finally
        {
            if (port is { HasExited: false })
            {
                port.Kill(entireProcessTree: true);
                await port.WaitForExitAsync();
            }
            port?.Dispose();
            RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>The built <c>hivectl port --proxy</c> in front of a sleeping COMMAND that prints its HTTPS_PROXY: the process and the port's end point.</summary>
    private static async Task<(Process Port, IPEndPoint Proxy)> StartPortAsync(string door)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true };
        foreach (var arg in new[] { Hivectl, "port", "--proxy", door, "--", "/bin/sh", "-c", "echo \"$HTTPS_PROXY\"; exec sleep 1000000" })
            info.ArgumentList.Add(arg);
        var port = Process.Start(info)!;
        var line = await port.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("hivectl port printed no HTTPS_PROXY");
        var uri = new Uri(line);
        return (port, new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port));
    }

    private static async Task<double> DirectAsync(IPEndPoint server)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var started = Stopwatch.GetTimestamp();
        await socket.ConnectAsync(server);
        var bytes = await DrainAsync(socket, 0);
        return Rate(bytes, started);
    }

    /// <summary>A download through a Unix socket: the door (CONNECT to <paramref name="server"/>) or, with no server, the bare relay (no head).</summary>
    private static async Task<double> ThroughUnixAsync(string path, IPEndPoint? server)
    {
        var started = Stopwatch.GetTimestamp();
        using var socket = server is null ? await OpenUnixAsync(path) : await OpenDoorAsync(path);
        if (server is not null) await socket.SendAsync(Encoding.ASCII.GetBytes($"CONNECT {server.Address}:{server.Port} HTTP/1.1\r\n\r\n"));
        var bytes = await DrainAsync(socket, server is null ? 0 : Established.Length);
        if (bytes != DownloadBytes) throw new InvalidOperationException($"the download through {path} got {bytes} bytes");
        return Rate(bytes, started);
    }

    private static async Task<double> ThroughPortAsync(IPEndPoint proxy, IPEndPoint server)
    {
        var started = Stopwatch.GetTimestamp();
        using var socket = await OpenPortAsync(proxy);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"CONNECT {server.Address}:{server.Port} HTTP/1.1\r\n\r\n"));
        var bytes = await DrainAsync(socket, Established.Length);
        return Rate(bytes, started);
    }

    private static async Task<Socket> OpenUnixAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static Task<Socket> OpenDoorAsync(string door) => OpenUnixAsync(door);

    private static async Task<Socket> OpenPortAsync(IPEndPoint proxy)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(proxy);
        return socket;
    }

    private static async Task SmallAsync(Func<Task<Socket>> connect, IPEndPoint server)
    {
        using var socket = await connect();
        await socket.SendAsync(Encoding.ASCII.GetBytes($"CONNECT {server.Address}:{server.Port} HTTP/1.1\r\n\r\n"));
        var got = await DrainAsync(socket, 0);
        if (got != (Established + "ok").Length) throw new InvalidOperationException($"a small connection got {got} bytes");
    }

    /// <summary>
    /// The floors: a Unix socket of this process's own, each connection to it joined to a new TCP connection to the server
    /// with no head, policy or record, by the plainest user-space loop (one buffer, receive then send, each direction) or
    /// by the proxy's splice(2) pump alone (<see cref="KernelSplice"/>).
    /// </summary>
    private sealed class BareRelay : IDisposable
    {
        private readonly Socket _listener;
        private readonly bool _splice;

        private BareRelay(Socket listener, string path, bool splice)
        {
            _listener = listener;
            _splice = splice;
            Path = path;
        }

        public string Path { get; }

        public static BareRelay Start(string path, IPEndPoint server, bool splice)
        {
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(16);
            var relay = new BareRelay(listener, path, splice);
            _ = relay.AcceptAsync(server);
            return relay;
        }

        private async Task AcceptAsync(IPEndPoint server)
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = await _listener.AcceptAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = JoinAsync(client, server);
            }
        }

        private async Task JoinAsync(Socket client, IPEndPoint server)
        {
            using (client)
            using (var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true })
            {
                await upstream.ConnectAsync(server);
                await Task.WhenAll(CopyAsync(client, upstream), CopyAsync(upstream, client));
            }
        }

        private async Task CopyAsync(Socket from, Socket to)
        {
            var buffer = new byte[128 * 1024];
            try
            {
                await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None); // both sockets non-blocking, as the proxy's are by then
                if (_splice)
                {
                    if (!KernelSplice.Usable(from, to)) throw new InvalidOperationException("the bare relay's sockets cannot be spliced");
                    await KernelSplice.MoveAsync(from, to, long.MaxValue, _ => { });
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                int read;
                while ((read = await from.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                    for (var sent = 0; sent < read;) sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None);
                to.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                if (e is InvalidOperationException) Console.Error.WriteLine(e.Message); // the download then comes short, and says so
                from.Close(0);
                to.Close(0);
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Reads to the end; the bytes past <paramref name="head"/>, which must all have come (else it throws).</summary>
    private static async Task<long> DrainAsync(Socket socket, int head)
    {
        var buffer = new byte[256 * 1024];
        long total = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0) total += read;
        if (head > 0 && total - head != DownloadBytes) throw new InvalidOperationException($"the download through the proxy got {total - head} bytes");
        return total - head;
    }

    private static double Rate(long bytes, long started) => bytes / 1e6 / Stats.Seconds(Stopwatch.GetTimestamp() - started);
}
