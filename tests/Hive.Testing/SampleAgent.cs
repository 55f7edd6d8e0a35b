using System.Runtime.InteropServices;

namespace Hive.Testing;

/// <summary>The repository's sample agent (<c>samples/EchoAgent</c>), built beside the tests, as an agent command.</summary>
public static class SampleAgent
{
    private static readonly Lazy<string> BuiltForAgents = new(Locate);

    /// <summary>
    /// The built EchoAgent.dll of the same configuration as this assembly, where an agent can read it: a root host runs
    /// agents as users of their own, so a checkout under a directory others may not enter (<c>/root</c>, a
    /// <c>mktemp -d</c>) is copied once to a readable temp dir, removed when the test run ends; so is one under <c>/work</c>,
    /// where a sandbox shows the agent's ticket workspace instead.
    /// </summary>
    public static string Dll => BuiltForAgents.Value;

    private static string Locate() => AgentReadable.Of(FindBuilt());

    private static string FindBuilt()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Hive.sln"))) continue;
            foreach (var config in new[] { configuration, "Debug", "Release" })
            {
                var built = Path.Combine(dir.FullName, "samples", "EchoAgent", "bin", config, "net10.0", "EchoAgent.dll");
                if (File.Exists(built)) return built;
            }
            break;
        }
        throw new FileNotFoundException("samples/EchoAgent is not built: dotnet build samples/EchoAgent");
    }

    /// <summary>The command that runs it.</summary>
    public static string[] Command => ["dotnet", Dll];

    /// <summary>
    /// What a sandbox must see to run it: its build output, and the .NET install when it is not in a system dir (an SDK
    /// installed by dotnet-install.sh lives in ~/.dotnet, which the sandbox does not show).
    /// </summary>
    public static string[] Mounts
    {
        get
        {
            var build = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Dll)))!;
            var dotnet = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, "dotnet")).FirstOrDefault(File.Exists);
            var root = dotnet is null ? null : Path.GetDirectoryName(new FileInfo(dotnet).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dotnet);
            return root is null || root.StartsWith("/usr/", StringComparison.Ordinal) ? [build] : [build, root];
        }
    }

    /// <summary>The create-agent body for it under <paramref name="driver"/>.</summary>
    public static object Body(string name, string driver) => new { name, command = Command, driver, mounts = Mounts };
}

/// <summary>What <c>/proc</c> says about processes: for tests that must prove no agent process is left.</summary>
public static partial class ProcessTable
{
    public static bool IsAlive(int pid) => Stat(pid) is { } stat && stat.State != "Z";

    /// <summary>Live processes whose process group is <paramref name="pgid"/>.</summary>
    public static IReadOnlyList<int> GroupMembers(int pgid) =>
        AllPids().Where(pid => Stat(pid) is { State: not "Z" } stat && stat.ProcessGroup == pgid).ToList();

    /// <summary>
    /// An agent's live processes: its process group (led by <paramref name="pgid"/>, the driver's supervisor) and every
    /// descendant of those (a sandboxed agent runs in a session, so a group, of its own).
    /// </summary>
    public static IReadOnlyList<int> Family(int pgid)
    {
        var stats = AllPids().Select(pid => (pid, stat: Stat(pid))).Where(p => p.stat is { State: not "Z" }).ToList();
        var family = stats.Where(p => p.stat!.ProcessGroup == pgid).Select(p => p.pid).ToHashSet();
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var (pid, stat) in stats)
                if (!family.Contains(pid) && family.Contains(stat!.Parent)) grew |= family.Add(pid);
        }
        return family.ToList();
    }

    /// <summary>Live processes whose command line contains <paramref name="text"/> and whose program is <paramref name="exe"/>'s file name.</summary>
    public static IReadOnlyList<int> Find(string exe, string text) => AllPids().Where(pid =>
    {
        try
        {
            var target = new FileInfo($"/proc/{pid}/exe").LinkTarget;
            if (target is null || Path.GetFileName(target) != exe || !IsAlive(pid)) return false;
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(text, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }).ToList();

    /// <summary>Live processes whose command line contains <paramref name="text"/>, whatever their program.</summary>
    public static IReadOnlyList<int> WithArgument(string text) =>
        AllPids().Where(pid => IsAlive(pid) && CommandLine(pid).Contains(text, StringComparison.Ordinal)).ToList();

    /// <summary>The real uid of a live process (its status's <c>Uid:</c>), or null once it is gone.</summary>
    public static uint? RealUid(int pid)
    {
        try
        {
            return uint.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal))
                .Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The environment of a live process, or null.</summary>
    public static IReadOnlyDictionary<string, string>? Environment(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
                .Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static void Kill(int pid, int signal = 9) => KillNative(pid, signal);

    /// <summary>The process's command line, arguments separated by spaces ("" once it is gone).</summary>
    public static string CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    /// <summary>The process and its parents, up to (not including) init.</summary>
    public static IEnumerable<int> SelfAndAncestors(int pid)
    {
        for (var current = pid; current > 1 && Stat(current) is { } stat; current = stat.Parent) yield return current;
    }

    /// <summary>Waits until none of <paramref name="pids"/> is alive.</summary>
    public static async Task UntilGoneAsync(IEnumerable<int> pids, TimeSpan? timeout = null)
    {
        var list = pids.ToList();
        await HiveInstance.Until(() => list.All(p => !IsAlive(p)), timeout ?? TimeSpan.FromSeconds(15),
            $"processes {string.Join(", ", list)} to be gone (alive: {string.Join(", ", list.Where(IsAlive))})");
    }

    private static IEnumerable<int> AllPids() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Select(n => int.TryParse(n, out var pid) ? pid : 0).Where(pid => pid > 0);

    private sealed record ProcStat(string State, int Parent, int ProcessGroup);

    private static ProcStat? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return new ProcStat(fields[0], int.Parse(fields[1]), int.Parse(fields[2]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int KillNative(int pid, int signal);
}
