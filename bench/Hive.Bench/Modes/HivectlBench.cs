using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// hivectl as the host gives it to its agents, which start it at least twice each (<c>hivectl port</c> in front of
/// <c>hivectl run</c>) and once more for every <c>hivectl send</c> of a turn. Two cases, each for the plain build
/// (<c>src/Cli/bin</c>, all of it JIT-compiled at run time: the baseline) and the ReadyToRun one beside the host
/// (<c>agent-tools/hivectl</c>): CPU per start (<c>hivectl --version</c>, the children's CPU this process reaps), and a
/// port's first relayed connection against its second (each a new connection: connect, a request, the answer's first
/// byte, through the port to a Unix socket served here), the first made <see cref="AgentStart"/> after the port started,
/// as an agent's first model call comes after its own start.
/// </summary>
internal sealed class HivectlBench : IBenchMode
{
    public string Name => "hivectl";
    public string Summary => "hivectl as agents get it: CPU per start, JIT build vs the ReadyToRun one beside the host; a port's first relayed connection vs its second";

    /// <summary>How long after its port started an agent makes its first call, at the least (a CLI's own start).</summary>
    private static readonly TimeSpan AgentStart = TimeSpan.FromMilliseconds(300);

    private static readonly byte[] Answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"u8.ToArray();

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("hivectl");
        Directory.CreateDirectory(root);
        PrintHeader("hivectl as agents get it (issue 51, item 3)", root);
        var builds = new (string Name, string? Dll)[]
        {
            ("JIT (src/Cli/bin)", HostProcess.BuiltInRepository(Path.Combine("src", "Cli"), "hivectl.dll")),
            ("ReadyToRun (agent-tools)", Path.Combine(Path.GetDirectoryName(HostProcess.HostDll)!, "agent-tools", "hivectl", "hivectl.dll")),
        };
        if (builds.FirstOrDefault(b => b.Dll is null || !File.Exists(b.Dll)) is { Name: { } missing })
        {
            Console.Error.WriteLine($"hivectl: no {missing} build of hivectl: build the solution first (dotnet build Hive.sln -c Release)");
            return 2;
        }
        var socket = Path.Combine(root, "door.sock");
        using var door = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        door.Bind(new UnixDomainSocketEndPoint(socket));
        door.Listen(64);
        _ = ServeDoorAsync(door);
        try
        {
            var starts = options.Reps;
            var ports = Math.Max(3, options.Reps / 10);
            Console.WriteLine($"starts per build {starts}, ports per build {ports} (--reps), first call {AgentStart.TotalMilliseconds} ms after the port started; load {LoadAverage()}");
            var cpu = builds.ToDictionary(b => b.Name, _ => new List<double>());
            var wall = builds.ToDictionary(b => b.Name, _ => new List<double>());
            for (var i = 0; i < starts; i++)
                foreach (var (name, dll) in builds)
                {
                    var (ms, cpuMs) = await StartOnceAsync(dll!);
                    wall[name].Add(ms);
                    cpu[name].Add(cpuMs);
                }
            var first = builds.ToDictionary(b => b.Name, _ => new List<double>());
            var second = builds.ToDictionary(b => b.Name, _ => new List<double>());
            for (var i = 0; i < ports; i++)
                foreach (var (name, dll) in builds)
                {
                    var (a, b) = await PortTwiceAsync(dll!, socket);
                    first[name].Add(a);
                    second[name].Add(b);
                }

            Console.WriteLine();
            Console.WriteLine("== CPU per start (hivectl --version; user + system, reaped) ==");
            foreach (var (name, _) in builds)
                Console.WriteLine($"{name,-26} CPU mean {Stats.F(cpu[name].Average(), 1)} ms   wall {Latency.Of(wall[name])}");
            var (jitName, r2rName) = (builds[0].Name, builds[1].Name);
            Console.WriteLine($"ratio ReadyToRun / JIT, CPU per start: {Stats.F(cpu[r2rName].Average() / cpu[jitName].Average(), 3)}");
            Console.WriteLine();
            Console.WriteLine("== a port's relayed connection: connect → the answer's first byte ==");
            foreach (var (name, _) in builds)
            {
                Console.WriteLine($"{name,-26} first  {Latency.Of(first[name])}");
                Console.WriteLine($"{"",-26} second {Latency.Of(second[name])}");
                Console.WriteLine($"{"",-26} ratio first / second, p50: {Stats.F(Stats.Median(first[name]) / Stats.Median(second[name]), 2)}");
            }
            Console.WriteLine($"load at the end {LoadAverage()}");
            return 0;
        }
        finally
        {
            door.Dispose();
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<(double WallMs, double CpuMs)> StartOnceAsync(string dll)
    {
        var before = ProcStat.ReapedCpuMs(ProcStat.Fields(Environment.ProcessId));
        var watch = Stopwatch.StartNew();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--version");
        using var process = Process.Start(info)!;
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var wallMs = watch.Elapsed.TotalMilliseconds;
        if (process.ExitCode != 0) throw new InvalidOperationException($"hivectl --version exited {process.ExitCode}");
        return (wallMs, ProcStat.ReapedCpuMs(ProcStat.Fields(Environment.ProcessId)) - before);
    }

    /// <summary>A port in front of a COMMAND that prints its URL and waits on its stdin; two connections through it, timed.</summary>
    private static async Task<(double FirstMs, double SecondMs)> PortTwiceAsync(string dll, string socket)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, "port", "--to", socket, "--url-variable", "HIVE_BENCH_URL", "--url-path", "", "--",
                     "/bin/sh", "-c", "echo \"$HIVE_BENCH_URL\"; exec cat >/dev/null" })
            info.ArgumentList.Add(arg);
        var started = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        try
        {
            var url = new Uri(await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the port's COMMAND printed no URL"));
            if (AgentStart - started.Elapsed is { Ticks: > 0 } left) await Task.Delay(left);
            var endpoint = new IPEndPoint(IPAddress.Loopback, url.Port);
            return (await CallAsync(endpoint), await CallAsync(endpoint));
        }
        finally
        {
            process.StandardInput.Close();
            await process.WaitForExitAsync();
        }
    }

    private static async Task<double> CallAsync(IPEndPoint endpoint)
    {
        var watch = Stopwatch.StartNew();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(endpoint);
        await client.SendAsync(Encoding.ASCII.GetBytes("POST /v1/messages HTTP/1.1\r\nhost: bench\r\ncontent-length: 0\r\n\r\n"), SocketFlags.None);
        var buffer = new byte[256];
        if (await client.ReceiveAsync(buffer, SocketFlags.None) == 0) throw new InvalidOperationException("the port closed without an answer");
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>The far side of the ports: each connection's request heads answered with a short 200, until it ends.</summary>
    private static async Task ServeDoorAsync(Socket door)
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = await door.AcceptAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = AnswerAsync(connection);
        }
    }

    private static async Task AnswerAsync(Socket connection)
    {
        using (connection)
        {
            var buffer = new byte[4096];
            var seen = new StringBuilder();
            try
            {
                while (await connection.ReceiveAsync(buffer, SocketFlags.None) is var read and > 0)
                {
                    seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    if (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal)) continue;
                    seen.Clear();
                    await connection.SendAsync(Answer, SocketFlags.None);
                }
            }
            catch (SocketException)
            {
                // The port went: the connection ends.
            }
        }
    }
}
