using System.Security.Cryptography;
using System.Text;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// Where this hive's cgroup directories go: one per hierarchy the agents are put in, each named after the data dir, under
/// the host's own cgroup in that hierarchy. Under cgroups v1 that is the <c>pids</c> hierarchy (membership: it is the
/// <see cref="Primary"/> one, whose <c>cgroup.procs</c> lists the agent's processes) and, for the caps and the usage, the
/// <c>memory</c>, <c>cpu</c> and <c>cpuacct</c> ones (which may share one hierarchy, as <c>cpu,cpuacct</c>); under v2 it
/// is one directory in the unified hierarchy.
/// </summary>
internal sealed record CgroupTree(bool V2, string Primary, IReadOnlyDictionary<string, string> Roots)
{
    public const string Memory = "memory", Cpu = "cpu", CpuAcct = "cpuacct", Pids = "pids";
    private static readonly string[] V1Controllers = [Pids, Memory, Cpu, CpuAcct];

    /// <summary>Each hierarchy's directory once (v1 controllers may share one).</summary>
    public IEnumerable<string> Dirs => Roots.Values.Prepend(Primary).Distinct(StringComparer.Ordinal);

    /// <summary>The directory a hive's cgroups are named by in each hierarchy: one per data dir, so two hives never meet.</summary>
    public static string HiveDirName(string dataDir) => "hive-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dataDir)))[..12];

    /// <summary>
    /// This hive's directories, from <c>/proc/self/cgroup</c>, with the hierarchies mounted under <paramref name="mountRoot"/>
    /// (<c>Hive:Containers:CgroupRoot</c>); else why there are none.
    /// </summary>
    public static (CgroupTree? Tree, string? Why) Locate(string dataDir, string mountRoot)
    {
        mountRoot = mountRoot.TrimEnd('/');
        string[] lines;
        try { lines = File.ReadAllLines("/proc/self/cgroup"); }
        catch (IOException e) { return (null, e.Message); }
        var hive = HiveDirName(dataDir);
        var v1 = new Dictionary<string, string>(StringComparer.Ordinal);
        string? unified = null;
        foreach (var line in lines)
        {
            // hierarchy-id:controllers:path
            var parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            var own = parts[2].TrimEnd('/');
            if (parts[0] == "0" && parts[1].Length == 0)
            {
                if (File.Exists($"{mountRoot}/cgroup.controllers")) unified = $"{mountRoot}{own}/{hive}";
                continue;
            }
            var controllers = parts[1].Split(',');
            foreach (var controller in V1Controllers.Where(controllers.Contains))
            {
                // Mounted as its controllers name it (cpu,cpuacct), or, where it shares a hierarchy, under each name (a link).
                var mount = new[] { $"{mountRoot}/{parts[1]}", $"{mountRoot}/{controller}" }.FirstOrDefault(m => File.Exists($"{m}/cgroup.procs"));
                if (mount is not null) v1[controller] = $"{mount}{own}/{hive}";
            }
        }
        if (v1.TryGetValue(Pids, out var pids)) return (new CgroupTree(false, pids, v1), null);
        if (unified is not null)
            return (new CgroupTree(true, unified, V1Controllers.Where(c => c != CpuAcct).ToDictionary(c => c, _ => unified, StringComparer.Ordinal)), null);
        return (null, $"no cgroup hierarchy with the pids controller, nor a unified one, is mounted under {mountRoot}");
    }
}
