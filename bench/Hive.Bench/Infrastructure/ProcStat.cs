using System.Globalization;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// A process's CPU counters from <c>/proc/&lt;pid&gt;/stat</c>, in clock ticks of USER_HZ (100 on Linux: 10 ms each), and
/// the fields of its <c>/proc/&lt;pid&gt;/status</c>.
/// </summary>
public static class ProcStat
{
    private const double MsPerTick = 10;

    /// <summary>
    /// The fields after <c>pid (comm) </c> (comm may hold spaces and parentheses, so the split starts after its last
    /// <c>)</c>): the state is [0], so field N of proc(5) is [N − 3] (utime, 14, is [11]).
    /// </summary>
    public static string[] Fields(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    /// <summary>A field counted in clock ticks, in ms.</summary>
    public static double Ms(string ticks) => long.Parse(ticks, CultureInfo.InvariantCulture) * MsPerTick;

    /// <summary>The process's own CPU time so far, user + system (utime + stime), in ms.</summary>
    public static double CpuMs(int pid) => CpuMs(Fields(pid));

    /// <inheritdoc cref="CpuMs(int)"/>
    public static double CpuMs(string[] fields) => Ms(fields[11]) + Ms(fields[12]);

    /// <summary>The CPU time of the children it has reaped, user + system (cutime + cstime), in ms.</summary>
    public static double ReapedCpuMs(string[] fields) => Ms(fields[13]) + Ms(fields[14]);

    /// <summary>A field of <c>/proc/&lt;pid&gt;/status</c> (kB for sizes such as VmRSS and VmHWM; a count for Threads); 0 when absent.</summary>
    public static long Status(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return 0;
    }
}
