using System.Runtime.InteropServices;

namespace Hive.Features.Containers.Drivers;

/// <summary>Signals to process groups and what <c>/proc</c> says about a pid: the few syscalls the drivers need.</summary>
internal static partial class ProcessGroups
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary>Signals every process of the group; false when there is none left.</summary>
    public static bool SignalGroup(int pgid, int signal) => pgid > 1 && Kill(-pgid, signal) == 0;

    public static bool Signal(int pid, int signal) => pid > 1 && Kill(pid, signal) == 0;

    /// <summary>
    /// Signals the group's processes except its leader. The leader is the driver's supervisor (a shell that waits for
    /// the agent, or bwrap), which ends when the agent does; SIGTERM to bwrap itself would end the sandbox at once.
    /// </summary>
    public static void SignalMembers(int pgid, int signal)
    {
        foreach (var pid in Members(pgid))
            if (pid != pgid) Kill(pid, signal);
    }

    /// <summary>The processes whose process group is <paramref name="pgid"/> (read from <c>/proc</c>).</summary>
    public static IReadOnlyList<int> Members(int pgid)
    {
        var members = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            if (ReadStat(pid) is { } stat && stat.ProcessGroup == pgid) members.Add(pid);
        }
        return members;
    }

    /// <summary>The kernel's start time of a live pid (clock ticks since boot), to tell our process from a reused pid.</summary>
    public static long? StartTicks(int pid) => ReadStat(pid)?.StartTicks;

    private sealed record Stat(int ProcessGroup, long StartTicks);

    private static Stat? ReadStat(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // The command name (field 2) is in parentheses and may hold spaces or ')': fields resume after the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): pgrp is field 5, starttime field 22.
        if (fields.Length < 20 || fields[0] == "Z") return null;
        return new Stat(int.Parse(fields[2]), long.Parse(fields[19]));
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
