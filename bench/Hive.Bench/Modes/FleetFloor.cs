using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Hive.Bench.Infrastructure;
using Hive.Features.Containers;
using Hive.Features.Containers.Runtime;
using Hive.Shared;
using Hive.Shared.Egress;
using Hive.Shared.Gateway;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Hive.Bench.Modes;

/// <summary>
/// The fleet's floor on this machine: the same echo agents started, as many in flight, by the process driver itself with
/// no host around it (no registry, no SQL, no events, no meta commit, no HTTP). The bench plays each agent's socket with
/// the two answers an echo agent needs (who it is, one message to answer). What is left is what a create costs whatever
/// the host does around it: the driver's preparation (the agent's user, its stage, its cgroup), the launch chain (setsid,
/// setpriv, unshare, the wrapper shell and its <c>mount -a</c>, setpriv) and the agent's own start.
/// </summary>
internal static class FleetFloor
{
    /// <param name="AllRunningS">Until the last start returned (the fleet's "all 201").</param>
    /// <param name="AllAnsweringS">Until the last agent answered its message.</param>
    public sealed record Result(double AllRunningS, double AllAnsweringS, string CpuLine);

    public static async Task<Result> RunAsync(string dataDir, string[] echo, int n, int inFlight, ConcurrentDictionary<int, byte> pids)
    {
        Directory.CreateDirectory(dataDir, HivePaths.PrivateDir);
        var paths = new HivePaths(dataDir);
        paths.EnsureCreated();
        var options = Options.Create(new ContainersOptions());
        using var launcher = new ProcessLauncher();
        using var cgroups = new AgentCgroups(dataDir, options.Value.CgroupRoot, NullLogger<AgentCgroups>.Instance);
        var driver = new ProcessDriver(new ProcessDriverServices(launcher, TimeProvider.System, options, cgroups,
            new AgentUsers(paths, options, NullLogger<AgentUsers>.Instance), paths, new AgentTools(paths, NullLogger<AgentTools>.Instance),
            new NoAgentGateways(), new NoAgentEgress()));
        if (driver.Unavailable is { } why) throw new InvalidOperationException($"the fleet's floor needs the process driver: {why}");

        var agents = new ConcurrentBag<(RunningAgent Running, PlayedSocket Socket)>();
        try
        {
            // One agent first, as the fleet does: the driver's code compiled, and the hive's cgroup found for the CPU count.
            var (warm, warmSocket) = await StartAsync(driver, paths, "floor-warm", n + 1, echo, pids);
            agents.Add((warm, warmSocket));
            await warmSocket.Answered.WaitAsync(TimeSpan.FromMinutes(1));
            var hiveCgroup = FleetCpu.HiveCgroupOf(warm.Pid);

            using var gate = new SemaphoreSlim(inFlight);
            var cpuAtRamp = FleetCpu.Now(Environment.ProcessId, hiveCgroup);
            var ramp = Stopwatch.GetTimestamp();
            var times = await Task.WhenAll(Enumerable.Range(1, n).Select(async slot =>
            {
                await gate.WaitAsync();
                (RunningAgent Running, PlayedSocket Socket) agent;
                try
                {
                    agent = await StartAsync(driver, paths, $"floor-{slot:D3}", slot, echo, pids);
                    agents.Add(agent);
                }
                finally
                {
                    gate.Release();
                }
                var up = Stopwatch.GetTimestamp();
                await agent.Socket.Answered.WaitAsync(TimeSpan.FromMinutes(5));
                return (Up: up, Answered: Stopwatch.GetTimestamp());
            }));
            var allRunning = Stats.Seconds(times.Max(t => t.Up) - ramp);
            var allAnswering = Stats.Seconds(times.Max(t => t.Answered) - ramp);
            return new Result(allRunning, allAnswering, FleetCpu.Now(Environment.ProcessId, hiveCgroup).FloorPerCreate(cpuAtRamp, n));
        }
        finally
        {
            // Stopped as the host stops them (SIGTERM to the group, the cgroup killed and removed), then nothing of the floor is left.
            await Task.WhenAll(agents.Select(async agent =>
            {
                await agent.Running.StopAsync(options.Value.StopGrace);
                await agent.Socket.DisposeAsync();
            }));
            DirectoryTree.Delete(dataDir);
        }
    }

    private static async Task<(RunningAgent, PlayedSocket)> StartAsync(ProcessDriver driver, HivePaths paths, string name, long slot, string[] echo,
        ConcurrentDictionary<int, byte> pids)
    {
        paths.EnsureAgentDirs(name);
        var socket = new PlayedSocket(paths.AgentSocket(name), name); // bound before the start, as the host's is: the stage binds it
        try
        {
            var running = await driver.StartAsync(new LaunchSpec(name, false, echo, new Dictionary<string, string>(), [], paths.AgentStateDir(name),
                paths.SharedDir, paths.AgentSocket(name), paths.AgentLogDir(name), slot), CancellationToken.None);
            pids.TryAdd(running.Pid, 0);
            return (running, socket);
        }
        catch
        {
            await socket.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// An agent's socket as the bench plays it: <c>whoami</c> answered with its name, its first <c>recv</c> with one message,
    /// its <c>send</c> of the answer taken (<see cref="Answered"/>); a later <c>recv</c> waits until the agent goes.
    /// </summary>
    private sealed class PlayedSocket : IAsyncDisposable
    {
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public PlayedSocket(string path, string name)
        {
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen();
            _loop = Task.Run(() => ServeAsync(name));
        }

        public Task Answered => _answered.Task;

        private async Task ServeAsync(string name)
        {
            try
            {
                using var connection = await _listener.AcceptAsync(_stop.Token);
                await using var stream = new NetworkStream(connection, ownsSocket: false);
                using var reader = new StreamReader(stream, new UTF8Encoding(false));
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
                var given = false;
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    var op = JsonNode.Parse(line)?["op"]?.GetValue<string>();
                    var reply = op switch
                    {
                        "whoami" => new JsonObject { ["ok"] = true, ["name"] = name },
                        "recv" when !given => new JsonObject { ["ok"] = true, ["message"] = new JsonObject { ["id"] = 1, ["from"] = "bench", ["body"] = "floor" } },
                        "recv" => await WaitForEverAsync(),
                        _ => new JsonObject { ["ok"] = true },
                    };
                    given |= op == "recv";
                    await writer.WriteLineAsync(reply.ToJsonString().AsMemory(), _stop.Token);
                    if (op == "send") _answered.TrySetResult();
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
            {
            }
            finally
            {
                _answered.TrySetException(new IOException($"{name} went before it answered"));
            }
        }

        private async Task<JsonObject> WaitForEverAsync()
        {
            await Task.Delay(Timeout.Infinite, _stop.Token);
            throw new OperationCanceledException();
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _loop;
            _stop.Dispose();
        }
    }
}
