using System.Collections.Concurrent;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Errors;

namespace Hive.Features.Containers;

/// <summary>
/// One action at a time per agent, and what the host holds for each agent between its actions: its running process, the
/// times the restart policy restarted it, and a restart waiting out its backoff. An operator's action that finds another
/// running is refused (<see cref="TryTakeAsync"/>, 409), never queued behind it; the crash watch, the restart policy and the work an
/// approval starts wait their turn (<see cref="WaitAsync"/>).
/// </summary>
internal sealed class AgentTurns(AgentRegistry registry)
{
    private readonly ConcurrentDictionary<string, AgentHold> _agents = new(StringComparer.Ordinal);
    private volatile bool _hostStopping;

    /// <summary>Set once the host has begun to stop: no restart, crash record or background start begins after it.</summary>
    public bool HostStopping => _hostStopping;

    public void HostIsStopping() => _hostStopping = true;

    /// <summary>What the host holds for <paramref name="name"/> (made on first use).</summary>
    public AgentHold Of(string name) => _agents.GetOrAdd(name, _ => new AgentHold());

    /// <summary>
    /// The agent's turn, now, or a 409 saying what it is busy with. While its row shows nothing in progress, whatever holds
    /// the turn is brief or finishing (a transient is cleared just before its turn is given back): that is waited for, up
    /// to <see cref="FinishingWait"/>, rather than refusing what the operator was shown as possible.
    /// </summary>
    public async Task<AgentTurn> TryTakeAsync(string name)
    {
        var hold = Of(name);
        if (hold.Gate.Wait(0) || (registry.Find(name)?.Transient is null && await hold.Gate.WaitAsync(FinishingWait)))
            return new AgentTurn(hold);
        var transient = registry.Find(name)?.Transient;
        throw new ConflictException($"{name} is busy{(transient is null ? "" : $" ({transient})")}: try again when that is done");
    }

    private static readonly TimeSpan FinishingWait = TimeSpan.FromSeconds(5);

    /// <summary>The agent's turn, once whatever holds it is done.</summary>
    public async Task<AgentTurn> WaitAsync(string name, CancellationToken ct = default)
    {
        var hold = Of(name);
        await hold.Gate.WaitAsync(ct);
        return new AgentTurn(hold);
    }

    /// <summary>An agent that is gone (destroyed, or never made): nothing is held for it any more.</summary>
    public void Forget(string name) => _agents.TryRemove(name, out _);

    /// <summary>Every agent something is held for, with it.</summary>
    public IReadOnlyList<KeyValuePair<string, AgentHold>> All() => _agents.ToList();

    /// <summary>The running process group of an agent, if it has one now.</summary>
    public int? PidOf(string name) => _agents.TryGetValue(name, out var hold) && hold.Running is { Exited.IsCompleted: false } running ? running.Pid : null;
}

/// <summary>An agent's turn: disposing gives it back (once, however often it is disposed).</summary>
internal sealed class AgentTurn(AgentHold hold) : IDisposable
{
    private int _released;

    public AgentHold Agent { get; } = hold;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) Agent.Gate.Release();
    }
}

/// <summary>What the host holds for one agent between its actions.</summary>
internal sealed class AgentHold
{
    private volatile RunningAgent? _running;
    private CancellationTokenSource? _pendingRestart;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Written under the turn; read without it by the crash watch (hence volatile).</summary>
    public RunningAgent? Running
    {
        get => _running;
        set => _running = value;
    }

    /// <summary>When the restart policy restarted it (its window is pruned as crashes are recorded).</summary>
    public List<DateTimeOffset> RestartTimes { get; } = [];

    /// <summary>Runs <paramref name="restart"/> in the background, cancelling one scheduled before.</summary>
    public void ScheduleRestart(Func<CancellationToken, Task> restart)
    {
        var cts = new CancellationTokenSource();
        Interlocked.Exchange(ref _pendingRestart, cts)?.Cancel();
        _ = Task.Run(() => restart(cts.Token));
    }

    public void CancelPendingRestart() => Interlocked.Exchange(ref _pendingRestart, null)?.Cancel();
}
