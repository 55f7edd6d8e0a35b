using Hive.Shared.Processes;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// Ending a cgroup directory for <see cref="AgentCgroups"/>: its processes killed until none is left, then the directory
/// (and those beneath it) removed once the kernel lets it.
/// </summary>
internal static class CgroupDirs
{
    private const int KillRounds = 50;

    /// <summary>
    /// SIGKILLs every process in the cgroup directory <paramref name="path"/> (and the ones beneath it) until none is left,
    /// then removes it; false when something was still there after every round.
    /// </summary>
    public static async Task<bool> KillAndRemoveAsync(string path, ILogger logger)
    {
        // No more forks first (the pids controller, where this hierarchy has it): a fork-and-setsid chain under pid
        // pressure could otherwise outrun the kill rounds.
        try { File.WriteAllText(Path.Combine(path, "pids.max"), "0"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        // A terminal's cgroup beneath an agent's: its processes are not in this one's cgroup.procs, and it must go first.
        foreach (var child in Children(path)) await KillAndRemoveAsync(child, logger);
        for (var round = 0; round < KillRounds; round++)
        {
            var members = Members(path);
            if (members is null) return true; // already gone
            if (members.Count == 0 && TryDelete(path)) return true;
            foreach (var pid in members) ProcessGroups.Signal(pid, ProcessGroups.SigKill);
            await Task.Delay(round < 10 ? 1 : 10);
        }
        logger.LogWarning("containers: processes of {Cgroup} survived {Rounds} rounds of SIGKILL", path, KillRounds);
        return false;
    }

    /// <summary>No more forks in <paramref name="path"/> (where it has the pids controller), and one SIGKILL to each member.</summary>
    public static void KillOnce(string path)
    {
        try { File.WriteAllText(Path.Combine(path, "pids.max"), "0"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        foreach (var pid in Members(path) ?? []) ProcessGroups.Signal(pid, ProcessGroups.SigKill);
    }

    /// <summary>A directory of another hierarchy, whose processes are gone: removed once the kernel lets it (EBUSY a moment).</summary>
    public static async Task RemoveEmptyAsync(string dir)
    {
        foreach (var child in Children(dir)) await RemoveEmptyAsync(child); // a terminal's, beneath an agent's
        for (var round = 0; round < KillRounds && Directory.Exists(dir) && !TryDelete(dir); round++) await Task.Delay(round < 10 ? 1 : 10);
    }

    public static bool TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir);
            return true;
        }
        catch (DirectoryNotFoundException) { return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; } // EBUSY: a zombie not yet reaped
    }

    private static IReadOnlyList<string> Children(string path)
    {
        try { return Directory.EnumerateDirectories(path).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
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
}
