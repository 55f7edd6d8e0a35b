using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// Figures for the model gateway, in one run against one fake upstream (Kestrel in this process, answering
/// Anthropic-shaped streams): the built host runs as a child process with one agent under the process driver whose
/// provider is the fake; the agent writes its placeholder key and its forwarding port's URL to its state dir and sleeps.
/// Six paths to the same upstream, each measured the same way: (1) direct, (2) a bare YARP forwarder on a Unix socket in
/// this process (the floor of forwarding as the gateway does it), (2b) the same in a process of its own, whose threads
/// sleep between calls as the host's do, (3) a hand-written one (HttpClient and CopyToAsync), (4) the agent's door (its
/// Unix socket, as the forwarder reaches it), (5) the agent's forwarding port (<c>hivectl port</c>, TCP on loopback, then
/// the door). For
/// each: time to the response's first byte over <c>--count</c> sequential small streamed calls (p50/p99), a 1 MiB streamed
/// response read whole <c>--reps</c> times (MiB/s of the stream from its first byte, and of the whole calls), and for the host the CPU it used per call (utime + stime from
/// /proc/&lt;pid&gt;/stat over the door's calls). Every call through the hive is a real one: checked, metered, recorded.
/// </summary>
internal sealed class GatewayBench : IBenchMode
{
    public string Name => "gateway";
    public string Summary => "the model gateway: added time to first byte (p50/p99), 1 MiB stream throughput, host CPU per call, against direct";

    private const int BigBytes = 1024 * 1024;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var count = Math.Min(options.Count, 20_000);
        var reps = Math.Max(5, Math.Min(options.Reps, 5000));
        var root = TempRoot(Name);
        PrintHeader("Hive model gateway benchmark (issue 43)", root);
        await using var upstream = await StartUpstreamAsync();
        try
        {
            await using var host = await HostProcess.StartAsync(Path.Combine(root, "data"), [],
                extraArgs: ["--Hive:Gateway:Providers:anthropic:Upstream", upstream.Url,
                    "--Hive:Gateway:Providers:anthropic:Prices:claude-test:InputPerMtok", "3",
                    "--Hive:Gateway:Providers:anthropic:Prices:claude-test:OutputPerMtok", "15",
                    "--Logging:LogLevel:Default", "Warning"]);
            using var http = host.CreateClient();
            (await http.PutAsJsonAsync("/api/secrets/anthropic", new { value = "sk-ant-bench-" + Guid.NewGuid().ToString("N") })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/api/agents", new
            {
                name = "alice", driver = "process", provider = "anthropic",
                command = new[] { "/bin/sh", "-c", "printf '%s\\n%s\\n' \"$ANTHROPIC_API_KEY\" \"$ANTHROPIC_BASE_URL\" > \"$HIVE_STATE_DIR/gateway\"; exec sleep 1000000" },
            })).EnsureSuccessStatusCode();
            var file = Path.Combine(host.DataDir, "agents", "alice", "state", "gateway");
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!(File.Exists(file) && File.ReadAllLines(file).Length >= 2) && DateTime.UtcNow < deadline) await Task.Delay(50);
            var lines = File.ReadAllLines(file);
            var (key, portUrl) = (lines[0], lines[1]);
            var door = Path.Combine(host.DataDir, "run", "alice.gateway.sock");
            Console.WriteLine($"host pid {host.ProcessId}; upstream {upstream.Url}; door {door}; port {portUrl}; {count} small calls, {reps} × 1 MiB per path; load {LoadAverage()}");

            await using var bare = await StartBareForwarderAsync(Path.Combine(root, "bare.sock"), upstream.Url);
            await using var apart = await FloorProcess.StartAsync(Path.Combine(root, "apart.sock"), upstream.Url);
            await using var copy = await StartCopyForwarderAsync(Path.Combine(root, "copy.sock"), upstream.Url);
            using var direct = Client(upstream.Url, null, key);
            using var viaBare = Client("http://bare", bare.Url, key);
            using var viaApart = Client("http://apart", apart.Socket, key);
            using var viaCopy = Client("http://copy", copy.Url, key);
            using var viaDoor = Client("http://door", door, key);
            using var viaPort = Client(portUrl, null, key);
            var paths = new (string Name, HttpClient Client)[]
                { ("direct", direct), ("yarp", viaBare), ("yarp-apart", viaApart), ("copy", viaCopy), ("door", viaDoor), ("port", viaPort) };
            foreach (var (_, client) in paths) await SmallAsync(client, Math.Min(count, 1000)); // warm-up: connections, and the JIT past its tiers

            var paused = new Dictionary<string, Latency>();
            foreach (var (name, client) in paths) paused[name] = await SmallAsync(client, Math.Min(count, 500), TimeSpan.FromMilliseconds(5));
            var results = new Dictionary<string, (Latency Ttfb, double WholeMiBps, double StreamMiBps, double CpuMsPerCall)>();
            foreach (var (name, client) in paths)
            {
                var cpuBefore = name == "door" ? ProcStat.CpuMs(host.ProcessId) : 0;
                var ttfb = await SmallAsync(client, count);
                var cpu = name == "door" ? (ProcStat.CpuMs(host.ProcessId) - cpuBefore) / count : double.NaN;
                var (whole, streamed) = await BigAsync(client, reps);
                results[name] = (ttfb, whole, streamed, cpu);
                Console.WriteLine($"{name,-10} first byte {ttfb}   1 MiB: stream {Stats.F(streamed, 1)} MiB/s, whole calls {Stats.F(whole, 1)} MiB/s   " +
                                  $"host CPU/call {(double.IsNaN(cpu) ? "-" : Stats.F(cpu, 3) + " ms")}");
            }
            var d = results["direct"];
            Console.WriteLine();
            foreach (var name in new[] { "yarp", "yarp-apart", "copy", "door", "port" })
            {
                var r = results[name];
                Console.WriteLine($"{name}: added first byte p50 {Stats.F(r.Ttfb.P50 - d.Ttfb.P50, 3)} ms, p99 {Stats.F(r.Ttfb.P99 - d.Ttfb.P99, 3)} ms " +
                                  $"(goal p99 < 1 ms: {Verdict(r.Ttfb.P99 - d.Ttfb.P99, 1)}); 1 MiB stream {Stats.F(r.StreamMiBps / d.StreamMiBps, 2)} of direct " +
                                  $"(goal ≥ 0.9: {(r.StreamMiBps / d.StreamMiBps >= 0.9 ? "met" : "MISSED")}), whole calls {Stats.F(r.WholeMiBps / d.WholeMiBps, 2)} of direct");
            }
            Console.WriteLine();
            Console.WriteLine("with 5 ms between calls (the next call after the last one's tools ran, not at once):");
            foreach (var (name, _) in paths)
                Console.WriteLine($"{name,-10} first byte {paused[name]}" + (name == "direct" ? "" :
                    $"   added p50 {Stats.F(paused[name].P50 - paused["direct"].P50, 3)} ms, p99 {Stats.F(paused[name].P99 - paused["direct"].P99, 3)} ms"));
            Console.WriteLine($"host CPU per call through the door: {Stats.F(results["door"].CpuMsPerCall, 3)} ms (checked, metered, recorded; 2 writes to hive.db)");
            Console.WriteLine($"load at the end: {LoadAverage()}");
            return 0;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>
    /// Time to the first byte of <paramref name="count"/> small calls one after another; with <paramref name="pause"/>, that
    /// long between one call's end and the next (an agent's next call comes after its tools have run, not at once).
    /// </summary>
    private static async Task<Latency> SmallAsync(HttpClient client, int count, TimeSpan pause = default)
    {
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            if (pause > TimeSpan.Zero) await Task.Delay(pause);
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages") { Content = Body("small") };
            var started = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await using var stream = await response.Content.ReadAsStreamAsync();
            var one = new byte[1];
            if (await stream.ReadAsync(one) != 1 || !response.IsSuccessStatusCode) throw new InvalidOperationException($"call {i}: {(int)response.StatusCode}");
            times[i] = Stats.Ms(Stopwatch.GetTimestamp() - started);
            await stream.CopyToAsync(Stream.Null);
        }
        return Latency.Of(times);
    }

    /// <summary>
    /// A 1 MiB stream read whole <paramref name="reps"/> times: MiB/s over the whole calls (request to last byte, one after
    /// another, so each call's fixed cost counts), and the stream's own rate (first byte to last byte: what streaming adds).
    /// </summary>
    private static async Task<(double WholeMiBps, double StreamMiBps)> BigAsync(HttpClient client, int reps)
    {
        long bytes = 0;
        long streaming = 0;
        var buffer = new byte[64 * 1024];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < reps; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages") { Content = Body("big") };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await using var stream = await response.Content.ReadAsStreamAsync();
            var read = await stream.ReadAsync(buffer);
            var first = Stopwatch.GetTimestamp();
            while (read > 0)
            {
                bytes += read;
                read = await stream.ReadAsync(buffer);
            }
            streaming += Stopwatch.GetTimestamp() - first;
        }
        var mib = bytes / 1024.0 / 1024.0;
        return (mib / Stats.Seconds(Stopwatch.GetTimestamp() - started), mib / Stats.Seconds(streaming));
    }

    private static StringContent Body(string size) =>
        new($$"""{"model":"claude-test","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"{{size}}"}]}""", Encoding.UTF8, "application/json");

    private static HttpClient Client(string baseUrl, string? unixSocket, string key)
    {
        var handler = new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10) };
        if (unixSocket is not null)
            handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(unixSocket), ct);
                return new NetworkStream(socket, ownsSocket: true);
            };
        var client = new HttpClient(handler) { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Add("x-api-key", key);
        client.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        return client;
    }

    /// <summary>
    /// The floor of forwarding as the gateway does it, with nothing of the hive's: Kestrel on a Unix socket in this process
    /// whose only handler is YARP's <c>IHttpForwarder</c> to the same upstream (no checks, no metering, no recording, no rows).
    /// </summary>
    private static async Task<Upstream> StartBareForwarderAsync(string socket, string upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket));
        builder.Logging.ClearProviders();
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        var forwarder = app.Services.GetRequiredService<Yarp.ReverseProxy.Forwarder.IHttpForwarder>();
        var client = new HttpMessageInvoker(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false });
        app.Run(async context => await forwarder.SendAsync(context, upstream, client, Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig.Empty,
            Yarp.ReverseProxy.Forwarder.HttpTransformer.Default));
        await app.StartAsync();
        return new Upstream(app, socket);
    }

    /// <summary>
    /// A second floor, written by hand: Kestrel on a Unix socket whose handler sends the request upstream with HttpClient and
    /// copies the answer back with <c>Stream.CopyToAsync</c> (no headers copied but the content type; nothing else).
    /// </summary>
    private static async Task<Upstream> StartCopyForwarderAsync(string socket, string upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false });
        app.Run(async context =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, upstream + context.Request.Path) { Content = new StreamContent(context.Request.Body) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            await body.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        await app.StartAsync();
        return new Upstream(app, socket);
    }

    public const string FloorVerb = "gateway-floor";

    /// <summary>The bare YARP floor, served by this program in a process of its own until its standard input closes.</summary>
    public static async Task<int> ServeFloorAsync(string socket, string upstream)
    {
        await using var floor = await StartBareForwarderAsync(socket, upstream);
        await Console.In.ReadToEndAsync();
        return 0;
    }

    /// <summary>
    /// The bare YARP floor in a child process (this program, <see cref="FloorVerb"/>): its threads sleep between calls as the
    /// host's do, where the in-process floors share the bench's awake ones. Stopped by closing its input, killed by pid if it lingers.
    /// </summary>
    internal sealed class FloorProcess(Process process, string socket) : IAsyncDisposable
    {
        public string Socket => socket;

        public static async Task<FloorProcess> StartAsync(string socket, string upstream)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, UseShellExecute = false };
            foreach (var arg in new[] { typeof(GatewayBench).Assembly.Location, FloorVerb, socket, upstream }) start.ArgumentList.Add(arg);
            var process = Process.Start(start) ?? throw new InvalidOperationException("the floor process did not start");
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!File.Exists(socket))
            {
                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    if (!process.HasExited) process.Kill();
                    throw new InvalidOperationException("the floor process did not listen");
                }
                await Task.Delay(50);
            }
            return new FloorProcess(process, socket);
        }

        /// <summary>
        /// Calls through it (<paramref name="rounds"/> rounds of <paramref name="concurrent"/> at once, each read whole) so that it is
        /// warm, as the hive's own forwarding port warms its relay before the agent's first call.
        /// </summary>
        public async Task WarmAsync(string key, int concurrent = 8, int rounds = 2)
        {
            using var client = Client("http://forwarder", socket, key);
            for (var round = 0; round < rounds; round++)
                await Task.WhenAll(Enumerable.Range(0, concurrent).Select(async _ =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages") { Content = Body("warm") };
                    using var response = await client.SendAsync(request);
                    response.EnsureSuccessStatusCode();
                    await response.Content.ReadAsStringAsync();
                }));
        }

        public async ValueTask DisposeAsync()
        {
            process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { process.Kill(); }
            process.Dispose();
        }
    }

    private sealed class Upstream(WebApplication app, string url) : IAsyncDisposable
    {
        public string Url => url;
        public ValueTask DisposeAsync() => app.DisposeAsync();
    }

    /// <summary>Answers any key: "small" with a short stream, "big" with 1 MiB of text deltas in 16 KiB writes.</summary>
    private static async Task<Upstream> StartUpstreamAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var start = Encoding.UTF8.GetBytes("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test\",\"content\":[],\"usage\":{\"input_tokens\":20,\"output_tokens\":1}}}\n\n");
        var end = Encoding.UTF8.GetBytes("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":9}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        var chunk = Encoding.UTF8.GetBytes("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + new string('x', 16 * 1024 - 120) + "\"}}\n\n");
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            context.Response.ContentType = "text/event-stream";
            await context.Response.Body.WriteAsync(start, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            if (body.Contains("\"big\"", StringComparison.Ordinal))
                for (var sent = 0; sent < BigBytes; sent += chunk.Length) await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            await context.Response.Body.WriteAsync(end, context.RequestAborted);
        });
        await app.StartAsync();
        return new Upstream(app, app.Urls.Single().TrimEnd('/'));
    }
}
