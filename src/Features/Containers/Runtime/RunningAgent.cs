using System.Diagnostics;

namespace Hive.Features.Containers.Runtime;

/// <summary>A started (or adopted) agent as the host sees it, whatever the driver.</summary>
public abstract class RunningAgent
{
    /// <summary>The pid the row shows (the process group's leader, or the container's leader).</summary>
    public abstract int Pid { get; }

    /// <summary>The leader's start time in <c>/proc</c> terms (0 when not known): with the pid, names this process only.</summary>
    public abstract long StartTicks { get; }

    public abstract DateTimeOffset StartedAt { get; }

    /// <summary>Completes when the agent has ended, however.</summary>
    public abstract Task<AgentExit> Exited { get; }

    /// <summary>Asks it to end, forces it after <paramref name="grace"/>, and returns once it has.</summary>
    public abstract Task<AgentExit> StopAsync(TimeSpan grace);
}
