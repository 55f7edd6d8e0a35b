using System.Diagnostics;
using System.Globalization;
using Hive.Bench.Infrastructure;

namespace Hive.Bench.Modes;

/// <summary>
/// Where the CPU of a fleet's ramp went, from counters the kernel keeps (no sampling): the host process itself
/// (<c>/proc/PID/stat</c> utime+stime), the children it has reaped (cutime+cstime: git, chown), the agents' cgroups
/// (the hive's directory in the <c>cpuacct</c> hierarchy, or <c>cpu.stat</c> under cgroups v2: each agent's wrapper
/// from the moment it joins its cgroup, its <c>mount</c>, <c>setpriv</c> and the agent), the bench's own process, and
/// the whole machine (<c>/proc/stat</c>: how much of the cores anything used, ours or another's).
/// Not counted: an agent's wrapper before it joins its cgroup (<c>setsid</c>, <c>setpriv</c>, <c>unshare</c>, the
/// shell's start: the same pid until it joins, so neither the host's own nor its reaped children's time).
/// </summary>
internal sealed record FleetCpu(double HostMs, double ReapedMs, double? AgentsMs, double BenchMs, double MachineBusyMs, double MachineMs)
{
    /// <summary>The counters now; <paramref name="hiveCgroup"/>: the hive's cgroup usage file (<see cref="HiveCgroupOf"/>), or null.</summary>
    public static FleetCpu Now(int hostPid, string? hiveCgroup)
    {
        var host = ProcStat.Fields(hostPid);
        var (busy, all) = Machine();
        return new FleetCpu(ProcStat.CpuMs(host), ProcStat.ReapedCpuMs(host), hiveCgroup is null ? null : UsageMs(hiveCgroup),
            Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds, busy, all);
    }

    /// <summary>The CPU between <paramref name="start"/> and this, per create of <paramref name="creates"/>, as a line for the report.</summary>
    public string PerCreate(FleetCpu start, int creates, double wallSeconds)
    {
        var host = (HostMs - start.HostMs) / creates;
        var reaped = (ReapedMs - start.ReapedMs) / creates;
        var agents = AgentsMs is { } a && start.AgentsMs is { } a0 ? (a - a0) / creates : (double?)null;
        var bench = (BenchMs - start.BenchMs) / creates;
        var total = host + reaped + (agents ?? 0) + bench;
        var busy = MachineBusyMs - start.MachineBusyMs;
        var cores = Environment.ProcessorCount;
        return $"CPU per create over the ramp: {F(total)} ms = host {F(host)} + its reaped children (git) {F(reaped)} + agents' cgroups " +
               $"(wrapper after joining, mount, setpriv, agent) {(agents is { } x ? F(x) : "n/a")} + bench client {F(bench)}; the machine's " +
               $"{cores} cores were {F(100 * busy / (MachineMs - start.MachineMs))} % busy over the {F(wallSeconds)} s " +
               $"({F(busy / 1000)} CPU-s, of which this fleet {F(total * creates / 1000)})";
    }

    /// <summary>
    /// The same for the fleet's floor (<see cref="FleetFloor"/>), measured with the bench's own pid as the host's: the
    /// bench did the driver's work itself, so it is counted once. The machine's busy time a create as well: the wrappers'
    /// first execs (before they join their cgroups) are counted nowhere else.
    /// </summary>
    public string FloorPerCreate(FleetCpu start, int creates)
    {
        var bench = (HostMs - start.HostMs) / creates;
        var reaped = (ReapedMs - start.ReapedMs) / creates;
        var agents = AgentsMs is { } a && start.AgentsMs is { } a0 ? (a - a0) / creates : (double?)null;
        var busy = MachineBusyMs - start.MachineBusyMs;
        return $"CPU per create over the floor's ramp: {F(bench + reaped + (agents ?? 0))} ms = the bench (the driver's preparation and launch, " +
               $"the sockets' play) {F(bench)} + its reaped children {F(reaped)} + agents' cgroups (wrapper after joining, mount, setpriv, agent) " +
               $"{(agents is { } x ? F(x) : "n/a")}; the machine's {Environment.ProcessorCount} cores were " +
               $"{F(100 * busy / (MachineMs - start.MachineMs))} % busy ({F(busy / creates)} ms a create, anyone's)";
    }

    private static string F(double value) => value.ToString(value >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture);

    /// <summary>
    /// The file that counts the CPU of the hive's cgroup directory (every agent's cgroup beneath it, those removed since
    /// included), found from a running agent's cgroup's parent; null where there is none.
    /// </summary>
    public static string? HiveCgroupOf(int agentPid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{agentPid}/cgroup"))
            {
                var parts = line.Split(':', 3);
                if (parts.Length != 3 || Path.GetDirectoryName(parts[2]) is not { } parent) continue;
                if (parts[1].Split(',').Contains("cpuacct"))
                {
                    foreach (var mount in new[] { $"/sys/fs/cgroup/{parts[1]}", "/sys/fs/cgroup/cpuacct" })
                        if (File.Exists($"{mount}{parent}/cpuacct.usage")) return $"{mount}{parent}/cpuacct.usage";
                }
                else if (parts[0] == "0" && parts[1].Length == 0 && File.Exists($"/sys/fs/cgroup{parent}/cpu.stat"))
                {
                    return $"/sys/fs/cgroup{parent}/cpu.stat";
                }
            }
        }
        catch (IOException) { }
        return null;
    }

    private static double? UsageMs(string file)
    {
        try
        {
            if (file.EndsWith("cpuacct.usage", StringComparison.Ordinal)) return long.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture) / 1e6;
            var usage = File.ReadLines(file).FirstOrDefault(l => l.StartsWith("usage_usec ", StringComparison.Ordinal));
            return usage is null ? null : long.Parse(usage[11..], CultureInfo.InvariantCulture) / 1e3;
        }
        catch (IOException) { return null; }
    }

    /// <summary>All cores' busy and total time in ms since boot (<c>/proc/stat</c>'s cpu line; idle and iowait are not busy).</summary>
    private static (double Busy, double All) Machine()
    {
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(ProcStat.Ms).ToArray();
        var all = cpu.Take(8).Sum(); // user nice system idle iowait irq softirq steal (guest is inside user)
        return (all - cpu[3] - cpu[4], all);
    }
}
