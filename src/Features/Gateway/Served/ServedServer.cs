using System.Text;
using Hive.Contracts.Gateway;
using Hive.Shared.Processes;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Gateway.Served;

/// <summary>
/// One provider's model server, supervised: started through the kernel's <see cref="ChildProcess"/> runner in a process
/// group of its own, counted up once its health URL answers 2xx, restarted when it dies (waiting one second, then twice as
/// long each time up to <see cref="ServeOptions.MaxBackoffSeconds"/>; back to one second after a run that was up), and left
/// down, <c>failed</c>, after <see cref="ServeOptions.MaxFailedStarts"/> runs in a row that ended before it was ever up (a
/// command that exits at once is said once, with its exit code and its output's tail, and never looped on). The tail of
/// its output (stdout and stderr as they came) is kept in memory. Its pid (with the kernel's start time of it) is kept in a
/// file while it runs: a host killed without stopping it leaves it running, and the next host kills that group first.
/// </summary>
internal sealed class ServedServer(string provider, ServeOptions options, string pidFile, TimeProvider clock, ILogger logger)
{
    /// <summary>How much of the server's output is kept.</summary>
    public const int TailBytes = 16 * 1024;

    /// <summary>How often the health URL is asked while the server is starting.</summary>
    public static readonly TimeSpan HealthInterval = TimeSpan.FromMilliseconds(250);

    private readonly object _gate = new();
    private readonly byte[] _tail = new byte[TailBytes];
    private int _tailStart, _tailLength;
    private string _state = ServedStates.Starting;
    private int? _pid;
    private int _restarts;
    private int? _lastExit;
    private DateTimeOffset? _lastExitAt;
    private DateTimeOffset _since = clock.GetUtcNow();

    public string Provider => provider;

    public bool IsUp
    {
        get { lock (_gate) return _state == ServedStates.Up; }
    }

    public ServedView View()
    {
        lock (_gate) return new ServedView(provider, _state, _pid, _restarts, _lastExit, _lastExitAt, _since, options.Slots, options.Context, TailText());
    }

    /// <summary>Runs the server until <paramref name="stopping"/> (the host stops: its whole group is killed) or it is given up on.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        await EndLeftoverAsync(stopping);
        var failedStarts = 0;
        var backoff = TimeSpan.FromSeconds(1);
        using var health = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(5) };
        while (!stopping.IsCancellationRequested)
        {
            var wasUp = false;
            int? exit = null;
            Set(ServedStates.Starting, pid: null);
            using var run = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var polling = PollAsync(health, started.Task, () => wasUp = true, run.Token);
            try
            {
                var result = await ChildProcess.RunAsync(new ChildCommand(options.Command[0], options.Command.Skip(1).ToList())
                {
                    Environment = options.Env,
                    Timeout = Timeout.InfiniteTimeSpan,
                    CaptureBytes = 0,
                    OwnProcessGroup = true,
                    Started = pid =>
                    {
                        File.WriteAllText(pidFile, $"{pid} {ProcessGroups.StartTicks(pid)}");
                        Set(ServedStates.Starting, pid);
                        started.TrySetResult();
                    },
                    Output = Keep,
                }, stopping);
                exit = result.ExitCode;
                File.Delete(pidFile);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                await run.CancelAsync();
                await polling;
                File.Delete(pidFile); // the runner killed its group: nothing of it is left
                Set(ServedStates.Stopped, pid: null);
                return;
            }
            catch (ChildProcessException e)
            {
                Keep(Encoding.UTF8.GetBytes($"hive: {e.Message}\n"));
            }
            await run.CancelAsync();
            await polling;
            lock (_gate) (_lastExit, _lastExitAt) = (exit, clock.GetUtcNow());
            failedStarts = wasUp ? 0 : failedStarts + 1;
            if (wasUp) backoff = TimeSpan.FromSeconds(1);
            if (failedStarts >= options.MaxFailedStarts)
            {
                Set(ServedStates.Failed, pid: null);
                logger.LogError("Provider {Provider}'s server exited (code {Exit}) before it was ever up, {Count} times in a row: left down. Its output ended: {Tail}",
                    provider, exit, failedStarts, View().Tail);
                return;
            }
            logger.LogWarning("Provider {Provider}'s server exited (code {Exit}); starting it again in {Backoff} s. Its output ended: {Tail}",
                provider, exit, backoff.TotalSeconds, View().Tail);
            Set(ServedStates.Restarting, pid: null);
            try
            {
                await Task.Delay(backoff, clock, stopping);
            }
            catch (OperationCanceledException)
            {
                Set(ServedStates.Stopped, pid: null);
                return;
            }
            backoff = TimeSpan.FromSeconds(Math.Min(backoff.TotalSeconds * 2, options.MaxBackoffSeconds));
            lock (_gate) _restarts++;
        }
    }

    /// <summary>
    /// The server a previous host left running (killed before it could stop it: its pid file is still there, and that pid
    /// is the same process, by its start time): its whole group is killed, and waited for, before a new one takes its port.
    /// </summary>
    private async Task EndLeftoverAsync(CancellationToken stopping)
    {
        string[] kept;
        try
        {
            kept = (await File.ReadAllTextAsync(pidFile, stopping)).Split(' ');
        }
        catch (FileNotFoundException)
        {
            return;
        }
        if (kept.Length == 2 && int.TryParse(kept[0], out var pid) && long.TryParse(kept[1], out var ticks) && ProcessGroups.StartTicks(pid) == ticks)
        {
            logger.LogWarning("Provider {Provider}'s server from the last host life (pid {Pid}) was still running: killing its process group", provider, pid);
            ProcessGroups.SignalGroup(pid, ProcessGroups.SigKill);
            while (ProcessGroups.Members(pid).Count > 0) await Task.Delay(50, stopping);
        }
        File.Delete(pidFile);
    }

    /// <summary>Asks the health URL until it answers 2xx (then the server is up) or the run ends.</summary>
    private async Task PollAsync(HttpClient health, Task started, Action up, CancellationToken runEnded)
    {
        try
        {
            await started.WaitAsync(runEnded);
            while (true)
            {
                try
                {
                    using var response = await health.GetAsync(options.Health, runEnded);
                    if (response.IsSuccessStatusCode)
                    {
                        up();
                        lock (_gate) if (_state == ServedStates.Starting) (_state, _since) = (ServedStates.Up, clock.GetUtcNow());
                        logger.LogInformation("Provider {Provider}'s server is up", provider);
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                catch (TaskCanceledException) when (!runEnded.IsCancellationRequested)
                {
                    // One ask timed out: ask again.
                }
                await Task.Delay(HealthInterval, clock, runEnded);
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended first.
        }
    }

    private void Set(string state, int? pid)
    {
        lock (_gate) (_state, _pid, _since) = (state, pid, clock.GetUtcNow());
    }

    private void Keep(ReadOnlyMemory<byte> chunk)
    {
        var bytes = chunk.Span;
        if (bytes.Length > TailBytes) bytes = bytes[^TailBytes..];
        lock (_gate)
        {
            foreach (var b in bytes)
            {
                _tail[(_tailStart + _tailLength) % TailBytes] = b;
                if (_tailLength < TailBytes) _tailLength++;
                else _tailStart = (_tailStart + 1) % TailBytes;
            }
        }
    }

    private string TailText()
    {
        var copy = new byte[_tailLength];
        for (var i = 0; i < _tailLength; i++) copy[i] = _tail[(_tailStart + i) % TailBytes];
        return Encoding.UTF8.GetString(copy);
    }
}

public static class ServedStates
{
    public const string Starting = "starting";
    public const string Up = "up";
    public const string Restarting = "restarting";
    public const string Failed = "failed";
    public const string Stopped = "stopped";
}
