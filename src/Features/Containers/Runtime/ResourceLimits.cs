using Hive.Contracts.Agents;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// The caps put on one agent's cgroup before its program runs: memory in MiB (past it the kernel's OOM killer ends a
/// process of the agent), CPU in percent of one core (200 = two cores' worth of time per period) and processes and
/// threads at once. Each is the agent's own (<c>limits</c> in its configuration) or the hive's default
/// (<c>Hive:Containers:Limits</c>).
/// </summary>
public sealed record ResourceLimits(int MemoryMib, int CpuPercent, int Pids)
{
    /// <summary>Upper bounds any cap may have: 1 TiB, 256 cores, 4 Mi pids (the kernel's own pid_max ceiling).</summary>
    public const int MaxMemoryMib = 1024 * 1024, MaxCpuPercent = 25_600, MaxPids = 4 * 1024 * 1024;

    /// <summary>The smallest memory cap: below it an agent's runtime cannot even start.</summary>
    public const int MinMemoryMib = 16;

    /// <summary>Why a cap is unusable, or null (bounds are inclusive).</summary>
    public static string? ProblemWith(long? memoryMib, long? cpuPercent, long? pids, string prefix)
    {
        if (memoryMib is { } m && (m < MinMemoryMib || m > MaxMemoryMib)) return $"{prefix}memory_mib must be between {MinMemoryMib} and {MaxMemoryMib}";
        if (cpuPercent is { } c && (c < 1 || c > MaxCpuPercent)) return $"{prefix}cpu_percent must be between 1 and {MaxCpuPercent}";
        if (pids is { } p && (p < 1 || p > MaxPids)) return $"{prefix}pids must be between 1 and {MaxPids}";
        return null;
    }

    /// <summary>The agent's own caps where it has them, the hive's elsewhere.</summary>
    public static ResourceLimits Resolve(LimitsOptions hive, AgentLimits? own) =>
        new((int?)own?.MemoryMib ?? hive.MemoryMiB, (int?)own?.CpuPercent ?? hive.CpuPercent, (int?)own?.Pids ?? hive.Pids);
}

/// <summary>What the host checks of an agent's own caps (<see cref="AgentLimits"/> is the wire's record).</summary>
public static class AgentLimitsRules
{
    extension(AgentLimits limits)
    {
        public string? Problem => ResourceLimits.ProblemWith(limits.MemoryMib, limits.CpuPercent, limits.Pids, "limits.");

        /// <summary>Null when it sets nothing (so an empty <c>limits</c> reads as none).</summary>
        public AgentLimits? OrNull => limits.MemoryMib is null && limits.CpuPercent is null && limits.Pids is null ? null : limits;
    }
}

/// <summary>The <c>Hive:Containers:Limits</c> section: every agent's caps unless its configuration sets its own.</summary>
public sealed class LimitsOptions
{
    public int MemoryMiB { get; set; } = 4096;
    public int CpuPercent { get; set; } = 200;
    public int Pids { get; set; } = 1024;
}
