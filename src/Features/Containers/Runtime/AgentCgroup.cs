namespace Hive.Features.Containers.Runtime;

/// <summary>
/// One run's cgroup: a directory in each of the hive's hierarchies (<see cref="CgroupTree"/>), the
/// <see cref="Primary"/> one holding the membership. Its caps are written before the agent's wrapper joins it, so the
/// program never runs uncapped; its counters are read by the usage loop, and its OOM kills when the agent ends.
/// </summary>
internal sealed class AgentCgroup(string agent, string primary, IReadOnlyDictionary<string, string> byController, bool v2, ResourceLimits limits)
{
    private const long MiB = 1024 * 1024;
    private const int CpuPeriodMicros = 100_000;

    public string Agent { get; } = agent;
    public string Primary { get; } = primary;
    public ResourceLimits Limits { get; } = limits;

    /// <summary>The run's directories, the primary first: what the wrapper joins (colon-separated).</summary>
    public IReadOnlyList<string> Dirs { get; } = byController.Values.Prepend(primary).Distinct(StringComparer.Ordinal).ToList();

    public string JoinList => string.Join(':', Dirs);

    /// <summary>What the usage loop last saw (null before its first look), and what it last told the dashboard.</summary>
    public UsageSample? Usage { get; set; }
    public AgentUsage? Published { get; set; }

    private string? Dir(string controller) => byController.GetValueOrDefault(controller);

    /// <summary>Writes the caps; returns which could not be set (a controller this host lacks), for one warning.</summary>
    public IReadOnlyList<string> Apply()
    {
        var missing = new List<string>();
        var memoryBytes = (Limits.MemoryMib * MiB).ToString();
        var cpuQuota = ((long)Limits.CpuPercent * CpuPeriodMicros / 100).ToString();
        if (v2)
        {
            if (!Write(CgroupTree.Memory, "memory.max", memoryBytes)) missing.Add("memory");
            else Write(CgroupTree.Memory, "memory.swap.max", "0"); // no swap to hide in: past the cap is an OOM kill
            if (!Write(CgroupTree.Cpu, "cpu.max", $"{cpuQuota} {CpuPeriodMicros}")) missing.Add("cpu");
        }
        else
        {
            if (!Write(CgroupTree.Memory, "memory.limit_in_bytes", memoryBytes)) missing.Add("memory");
            else Write(CgroupTree.Memory, "memory.memsw.limit_in_bytes", memoryBytes); // where swap accounting is on
            if (!(Write(CgroupTree.Cpu, "cpu.cfs_period_us", CpuPeriodMicros.ToString()) && Write(CgroupTree.Cpu, "cpu.cfs_quota_us", cpuQuota)))
                missing.Add("cpu");
        }
        if (!Write(CgroupTree.Pids, "pids.max", Limits.Pids.ToString())) missing.Add("pids");
        return missing;
    }

    /// <summary>
    /// OOM kills the kernel made in this cgroup: <c>oom_kill</c> of <c>memory.events</c> (v2) or <c>memory.oom_control</c>
    /// (v1, kernels since 4.13). A count of kills actually made, unlike v1's <c>memory.failcnt</c>, which counts every time
    /// the cap was touched, reclaim included.
    /// </summary>
    public long OomKills() =>
        Field(Read(CgroupTree.Memory, v2 ? "memory.events" : "memory.oom_control"), "oom_kill") ?? 0;

    /// <summary>Memory in bytes, CPU time used in microseconds, and processes now; null where unreadable.</summary>
    public (long? MemoryBytes, long? CpuMicros, long? Pids) ReadCounters()
    {
        var memory = Number(Read(CgroupTree.Memory, v2 ? "memory.current" : "memory.usage_in_bytes"));
        var cpu = v2 ? Field(Read(CgroupTree.Cpu, "cpu.stat"), "usage_usec") : Number(Read(CgroupTree.CpuAcct, "cpuacct.usage")) / 1000;
        return (memory, cpu, Number(Read(CgroupTree.Pids, "pids.current")));
    }

    /// <summary>
    /// Freezes the run (v2's <c>cgroup.freeze</c>, kernels since 5.2): none of its processes runs again until it is thawed
    /// or killed. False under v1, whose hive joins no freezer hierarchy.
    /// </summary>
    public bool Freeze() => v2 && WriteAt(Primary, "cgroup.freeze", "1");

    /// <summary>
    /// SIGKILL to every process of the run at once, forks racing it included (v2's <c>cgroup.kill</c>, kernels since 5.14;
    /// a frozen process obeys it). Else no more forks and one SIGKILL to each member; what a fork slipped past is left to
    /// <see cref="AgentCgroups.KillAndRemoveAsync(AgentCgroup)"/>'s rounds when the agent's exit is noticed.
    /// </summary>
    public void Kill()
    {
        if (v2 && WriteAt(Primary, "cgroup.kill", "1")) return;
        CgroupDirs.KillOnce(Primary);
    }

    private bool Write(string controller, string file, string value) => Dir(controller) is { } dir && WriteAt(dir, file, value);

    private static bool WriteAt(string dir, string file, string value)
    {
        if (!File.Exists(Path.Combine(dir, file))) return false;
        try
        {
            File.WriteAllText(Path.Combine(dir, file), value);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private string? Read(string controller, string file)
    {
        if (Dir(controller) is not { } dir) return null;
        try { return File.ReadAllText(Path.Combine(dir, file)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static long? Number(string? text) => long.TryParse(text?.Trim(), out var n) ? n : null;

    /// <summary>The value of <c>key N</c> in a flat-keyed cgroup file.</summary>
    private static long? Field(string? text, string key)
    {
        foreach (var line in (text ?? "").Split('\n'))
            if (line.Split(' ', 2) is [var k, var v] && k == key && long.TryParse(v, out var n)) return n;
        return null;
    }
}

/// <summary>One look at an agent's counters: when it was taken (a monotonic timestamp), the CPU time used so far, what it showed.</summary>
internal sealed record UsageSample(long Timestamp, long CpuMicros, AgentUsage View);

/// <summary>
/// An agent's usage as its row shows it (<c>usage</c>): memory in MiB, CPU in percent of one core over the last sampling
/// window, processes and threads, and when it was read.
/// </summary>
public sealed record AgentUsage(double MemoryMib, double CpuPercent, long Pids, DateTimeOffset At);
