using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// A cgroup of its own for each agent the process and bubblewrap drivers run, so that a child which leaves the agent's
/// process group (<c>setsid</c>, a daemon's double fork) is still found, and killed, when the agent ends. Process groups
/// cannot hold such a child; a cgroup can, and membership is all it is used for (no controller limits are set). A
/// sandbox's pid namespace ends with it anyway; the cgroup holds it all the same, and is where limits will go.
/// <para>
/// Each hive has a directory of its own, named after its data dir, in the cgroup hierarchy the host is in: the <c>pids</c>
/// hierarchy under cgroups v1, the unified one under v2. It needs write access there (root, or a delegated subtree);
/// without it agents run as before, in their process group only, and the host says so once.
/// </para>
/// </summary>
internal sealed class AgentCgroups : IDisposable
{
    private const int KillRounds = 50;
    private readonly ILogger _logger;
    private readonly (string? Path, string? Why) _located;
    private readonly Lazy<string?> _root;

    public AgentCgroups(string dataDir, ILogger<AgentCgroups> logger)
    {
        _logger = logger;
        _located = Locate(dataDir);
        // Made when the first agent needs it, so a hive that never runs one under the process driver leaves no trace.
        _root = new Lazy<string?>(Prepare);
    }

    /// <summary>Makes a new, empty cgroup for one run of <paramref name="agent"/>; null when cgroups cannot be used here.</summary>
    public string? Create(string agent)
    {
        if (_root.Value is not { } root) return null;
        var path = Path.Combine(root, $"{agent}-{Guid.NewGuid():N}"[..(agent.Length + 13)]);
        try
        {
            Directory.CreateDirectory(path);
            LimitPids(path);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The agent still runs, held by its process group as on a machine without cgroups.
            _logger.LogWarning("containers: cannot make {Cgroup} ({Why}): {Agent} runs without one", path, e.Message, agent);
            return null;
        }
    }

    /// <summary>Processes and threads one agent may have at once: a fork bomb stops there, not at the machine's pid_max.</summary>
    public const int MaxPids = 1024;

    /// <summary>Where the hierarchy has the pids controller (v1's pids, or v2 with it enabled below the hive's dir).</summary>
    private static void LimitPids(string path)
    {
        var max = Path.Combine(path, "pids.max");
        if (File.Exists(max)) File.WriteAllText(max, MaxPids.ToString());
    }

    /// <summary>
    /// SIGKILLs every process in the cgroup until none is left (a process may fork while the list is read), then removes it.
    /// Returns false when something was still there after every round (the cgroup is left for the next start-up's sweep).
    /// </summary>
    public async Task<bool> KillAndRemoveAsync(string path)
    {
        // No more forks first (the pids controller, where this hierarchy has it): a fork-and-setsid chain under pid
        // pressure could otherwise outrun the kill rounds.
        try { File.WriteAllText(Path.Combine(path, "pids.max"), "0"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        for (var round = 0; round < KillRounds; round++)
        {
            var members = Members(path);
            if (members is null) return true; // already gone
            if (members.Count == 0)
            {
                try
                {
                    Directory.Delete(path);
                    return true;
                }
                catch (IOException)
                {
                    // EBUSY: a process is still leaving it (a zombie not yet reaped); look again.
                }
            }
            foreach (var pid in members) ProcessGroups.Signal(pid, ProcessGroups.SigKill);
            await Task.Delay(round < 10 ? 1 : 10);
        }
        _logger.LogWarning("containers: processes of {Cgroup} survived {Rounds} rounds of SIGKILL", path, KillRounds);
        return false;
    }

    /// <summary>Ends whatever a previous life of this hive left running (the host itself was killed) and removes its cgroups.</summary>
    public async Task SweepLeftoversAsync()
    {
        if (_located.Path is not { } root || !Directory.Exists(root)) return;
        try
        {
            foreach (var leftover in Directory.EnumerateDirectories(root))
                await KillAndRemoveAsync(leftover);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("containers: could not sweep {Root}: {Why}", root, e.Message);
        }
        RemoveRootIfEmpty();
    }

    /// <summary>At the host's stop, after every agent was stopped: the hive's own directory goes too.</summary>
    public void Dispose() => RemoveRootIfEmpty();

    private void RemoveRootIfEmpty()
    {
        if (_located.Path is not { } root) return;
        try { Directory.Delete(root); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // gone already, or an agent's cgroup is left
    }

    private static IReadOnlyList<int>? Members(string path)
    {
        string text;
        try { text = File.ReadAllText(Path.Combine(path, "cgroup.procs")); }
        catch (DirectoryNotFoundException) { return null; }
        catch (FileNotFoundException) { return null; }
        var pids = new List<int>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (int.TryParse(line, out var pid)) pids.Add(pid);
        return pids;
    }

    /// <summary>This hive's directory, made; null (and one warning) when the host may not use cgroups here.</summary>
    private string? Prepare()
    {
        var (root, why) = _located;
        if (root is not null)
        {
            try
            {
                Directory.CreateDirectory(root);
                // Proves the host may move a process in, not only make directories: itself into its own cgroup (a no-op).
                File.AppendAllText(Path.Combine(Path.GetDirectoryName(root)!, "cgroup.procs"), Environment.ProcessId.ToString());
                return root;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                why = $"cannot use {root}: {e.Message}";
            }
        }
        _logger.LogWarning("containers: agents run without a cgroup of their own, so the process driver cannot hold a child that leaves its agent's process group ({Why})", why);
        return null;
    }

    /// <summary>This hive's directory in the hierarchy the host is in, from <c>/proc/self/cgroup</c>.</summary>
    private static (string? Root, string? Why) Locate(string dataDir)
    {
        string[] lines;
        try { lines = File.ReadAllLines("/proc/self/cgroup"); }
        catch (IOException e) { return (null, e.Message); }
        string? mount = null, own = null;
        foreach (var line in lines)
        {
            // hierarchy-id:controllers:path
            var parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            if (parts[1].Split(',').Contains("pids") && File.Exists("/sys/fs/cgroup/pids/cgroup.procs"))
            {
                (mount, own) = ("/sys/fs/cgroup/pids", parts[2]);
                break;
            }
            if (parts[0] == "0" && parts[1].Length == 0 && File.Exists("/sys/fs/cgroup/cgroup.controllers"))
                (mount, own) = ("/sys/fs/cgroup", parts[2]);
        }
        if (mount is null || own is null) return (null, "no cgroup hierarchy with the pids controller, nor a unified one, is mounted");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dataDir)))[..12];
        return (Path.Combine(mount + own.TrimEnd('/'), $"hive-{hash}"), null);
    }
}
