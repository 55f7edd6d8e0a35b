using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// Issue 44's figures for the egress proxy: the built host runs as a child process with one sleeping process agent whose
/// egress names the test network's server (<see cref="TestNetwork"/>: a veth into a network namespace, the server in this
/// process, ADR 0001 F6), by its address. (1) A 100 MB download from that server, read whole <c>--rounds</c> times each
/// way, direct (TCP to the server) and through the agent's egress socket (CONNECT, as its <c>hivectl port</c> reaches it),
/// as MB/s and their ratio (goal ≥ 0.8 of direct). (2) Connections per second through the proxy: <c>--count</c>
/// CONNECTs one after another, each reading the server's two bytes to the end, every one checked, connected and recorded
/// (audit log and attempts) as an agent's would be; and the same with 8 at a time. Needs a root host (the test network).
/// </summary>
internal sealed class EgressBench : IBenchMode
{
    public string Name => "egress";
    public string Summary => "the egress proxy: 100 MB download through CONNECT vs direct (ratio, goal >= 0.8), connections per second";

    private const long DownloadBytes = 100L * 1000 * 1000;

    public async Task<int> RunAsync(BenchOptions options)
    {
        if (TestNetwork.Unavailable is { } why)
        {
            Console.WriteLine($"egress bench needs a test network: {why}");
            return 1;
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
            Console.WriteLine($"host pid {host.ProcessId}; server {network.Address} on {network.Link}; door {door}; {rounds} × 100 MB per path, {count} connections; load {LoadAverage()}");

            await DirectAsync(download); // warm-up: the JIT past its tiers on both sides
            await ProxiedAsync(door, download);
            var direct = new List<double>();
            var proxied = new List<double>();
            for (var i = 0; i < rounds; i++)
            {
                direct.Add(await DirectAsync(download));
                proxied.Add(await ProxiedAsync(door, download));
            }
            var d = Median(direct);
            var p = Median(proxied);
            Console.WriteLine($"100 MB download: direct {Stats.F(d, 0)} MB/s (median of {rounds}: {string.Join(", ", direct.Select(x => Stats.F(x, 0)))})");
            Console.WriteLine($"                 proxy  {Stats.F(p, 0)} MB/s (median of {rounds}: {string.Join(", ", proxied.Select(x => Stats.F(x, 0)))})");
            Console.WriteLine($"                 ratio  {Stats.F(p / d, 2)} of direct (goal >= 0.8: {(p / d >= 0.8 ? "met" : "MISSED")})");

            for (var i = 0; i < 50; i++) await SmallAsync(door, small);
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < count; i++) await SmallAsync(door, small);
            var serial = count / Stats.Seconds(Stopwatch.GetTimestamp() - started);
            started = Stopwatch.GetTimestamp();
            var next = 0;
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                while (Interlocked.Increment(ref next) <= count) await SmallAsync(door, small);
            }));
            var parallel = count / Stats.Seconds(Stopwatch.GetTimestamp() - started);
            Console.WriteLine($"connections through the proxy: {Stats.F(serial, 0)}/s one at a time, {Stats.F(parallel, 0)}/s 8 at a time ({count} each; each checked, connected, recorded)");
            return 0;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static async Task<double> DirectAsync(IPEndPoint server)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var started = Stopwatch.GetTimestamp();
        await socket.ConnectAsync(server);
        var bytes = await DrainAsync(socket, 0);
        return Rate(bytes, started);
    }

    private static async Task<double> ProxiedAsync(string door, IPEndPoint server)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var started = Stopwatch.GetTimestamp();
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(door));
        await socket.SendAsync(Encoding.ASCII.GetBytes($"CONNECT {server.Address}:{server.Port} HTTP/1.1\r\n\r\n"));
        var bytes = await DrainAsync(socket, "HTTP/1.1 200 Connection established\r\n\r\n".Length);
        return Rate(bytes, started);
    }

    private static async Task SmallAsync(string door, IPEndPoint server)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(door));
        await socket.SendAsync(Encoding.ASCII.GetBytes($"CONNECT {server.Address}:{server.Port} HTTP/1.1\r\n\r\n"));
        var got = await DrainAsync(socket, 0);
        if (got != "HTTP/1.1 200 Connection established\r\n\r\nok".Length) throw new InvalidOperationException($"a small connection got {got} bytes");
    }

    /// <summary>Reads to the end; the bytes past <paramref name="head"/>, which must all have come (else it throws).</summary>
    private static async Task<long> DrainAsync(Socket socket, int head)
    {
        var buffer = new byte[256 * 1024];
        long total = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0) total += read;
        if (head > 0 && total - head != DownloadBytes) throw new InvalidOperationException($"the download through the proxy got {total - head} bytes");
        return head == 0 ? total : total - head;
    }

    private static double Rate(long bytes, long started) => bytes / 1e6 / Stats.Seconds(Stopwatch.GetTimestamp() - started);
}
