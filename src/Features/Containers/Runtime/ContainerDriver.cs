namespace Hive.Features.Containers.Runtime;

/// <summary>
/// Everything a driver needs to start one agent, in host paths. <paramref name="Slot"/> is the agent's registry slot, from
/// which a root host derives the agent's own uid; <paramref name="Limits"/> its caps (null: the hive's defaults);
/// <paramref name="Provider"/> the model provider its configuration names (null: none named, it counts against the
/// default), which its gateway follows (<see cref="Hive.Shared.Gateway.IAgentGateways"/>).
/// </summary>
public sealed record LaunchSpec(
    string Name,
    bool IsManager,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyList<string> Mounts,
    string StateDir,
    string SharedDir,
    string Socket,
    string LogDir,
    long Slot = 0,
    ResourceLimits? Limits = null,
    string? Provider = null,
    string? Network = null)
{
    /// <summary>Whether the agent runs in a network namespace of its own with loopback only (<see cref="Hive.Shared.Egress.NetworkModes.Sealed"/>).</summary>
    public bool Sealed => Network == Hive.Shared.Egress.NetworkModes.Sealed;
}

/// <summary>
/// How an agent's process ended: an exit code, or the signal that killed it; <paramref name="Reason"/> says why when the
/// host knows (<see cref="ExitReasons.Oom"/>: the kernel killed it at its memory cap).
/// </summary>
public sealed record AgentExit(int? Code, int? Signal, DateTimeOffset At, string? Reason = null);

public static class ExitReasons
{
    /// <summary>Killed by the kernel's OOM killer at the agent's memory cap.</summary>
    public const string Oom = "oom";
}

/// <summary>Runs agents' processes one way (a plain process group, a bubblewrap sandbox, ...).</summary>
public interface IContainerDriver
{
    /// <summary><c>process</c>, <c>bubblewrap</c>, ...: what the registry stores and the agent's view shows.</summary>
    string Name { get; }

    /// <summary>Its agents keep running when the host stops (and are adopted by the next one); the others die with the host.</summary>
    bool OutlivesHost => false;

    /// <summary>Null when the driver can run agents on this machine; else one sentence saying why not.</summary>
    string? Unavailable { get; }

    /// <summary>Why the driver could not run <paramref name="command"/> (say, a path the sandbox cannot see), or null.</summary>
    string? ProblemWith(IReadOnlyList<string> command, IReadOnlyList<string> mounts);

    /// <summary>
    /// <see cref="ProblemWith(IReadOnlyList{string}, IReadOnlyList{string})"/> for an agent named <paramref name="name"/>
    /// (already well formed), for a driver whose containers limit names (nixos-container); the others ignore the name.
    /// </summary>
    string? ProblemWith(string name, IReadOnlyList<string> command, IReadOnlyList<string> mounts) => ProblemWith(command, mounts);

    /// <summary>Starts the agent; throws <see cref="DriverException"/> with a sentence for the operator when it cannot.</summary>
    Task<RunningAgent> StartAsync(LaunchSpec spec, CancellationToken cancellationToken);

    /// <summary>
    /// At start-up: the agent's container if it is running already (a driver whose containers outlive the host), else
    /// null (the host then starts it, if it is desired running).
    /// </summary>
    Task<RunningAgent?> AdoptAsync(LaunchSpec spec, CancellationToken cancellationToken);

    /// <summary>After a destroy stopped the agent: removes what the driver made for it (its state dir stays).</summary>
    Task DestroyAsync(LaunchSpec spec, CancellationToken cancellationToken);
}

/// <summary>A driver could not do what it was asked; the message is meant for the operator.</summary>
public sealed class DriverException(string message, Exception? inner = null) : Exception(message, inner);
