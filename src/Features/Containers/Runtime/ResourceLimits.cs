using System.Text.Json.Serialization;

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

/// <summary>
/// An agent's own caps, as its configuration holds them (<c>limits: {memory_mib, cpu_percent, pids}</c>); a cap left
/// out is the hive's default (and out of the meta file). Longs, so an out-of-range number is refused with its bounds
/// rather than as a body that does not parse.
/// </summary>
public sealed record AgentLimits(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? MemoryMib = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? CpuPercent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Pids = null)
{
    [JsonIgnore]
    public string? Problem => ResourceLimits.ProblemWith(MemoryMib, CpuPercent, Pids, "limits.");

    /// <summary>Null when it sets nothing (so an empty <c>limits</c> reads as none).</summary>
    [JsonIgnore]
    public AgentLimits? OrNull => MemoryMib is null && CpuPercent is null && Pids is null ? null : this;
}

/// <summary>The <c>Hive:Containers:Limits</c> section: every agent's caps unless its configuration sets its own.</summary>
public sealed class LimitsOptions
{
    public int MemoryMiB { get; set; } = 4096;
    public int CpuPercent { get; set; } = 200;
    public int Pids { get; set; } = 1024;
}
