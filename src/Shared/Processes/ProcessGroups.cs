using System.Runtime.InteropServices;

namespace Hive.Shared.Processes;

/// <summary>Signals to process groups and what <c>/proc</c> says about a pid: the few syscalls the drivers and the served model servers need.</summary>
public static partial class ProcessGroups
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigStop = 19;

    /// <summary>Signals every process of the group; false when there is none left.</summary>
    public static bool SignalGroup(int pgid, int signal) => pgid > 1 && Kill(-pgid, signal) == 0;

    public static bool Signal(int pid, int signal) => pid > 1 && Kill(pid, signal) == 0;

    /// <summary>
    /// Signals the group's processes and the leader's descendants, except the leader. The leader is the driver's supervisor
    /// (a shell that waits for the agent, or bwrap), which ends when the agent does; SIGTERM to bwrap itself would end the
    /// sandbox at once. Descendants count because a sandboxed agent runs in a session (so a group) of its own.
    /// </summary>
    public static void SignalMembers(int pgid, int signal)
    {
        var stats = ReadAll();
        var chosen = stats.Where(s => s.Value.ProcessGroup == pgid).Select(s => s.Key).ToHashSet();
        var children = stats.ToLookup(s => s.Value.Parent, s => s.Key);
        var pending = new Stack<int>([pgid]);
        while (pending.Count > 0)
            foreach (var child in children[pending.Pop()])
            {
                chosen.Add(child);
                pending.Push(child);
            }
        foreach (var pid in chosen)
            if (pid != pgid) Kill(pid, signal);
    }

    /// <summary>
    /// Signals every process of the session <paramref name="sid"/> (a terminal's: its shell's jobs each have a group of
    /// their own) and the leader's descendants (those that made a session of their own under it); false when none was left.
    /// </summary>
    public static bool SignalSession(int sid, int signal, bool descendants = true)
    {
        var stats = ReadAll();
        var chosen = stats.Where(s => s.Value.Session == sid).Select(s => s.Key).ToHashSet();
        var children = stats.ToLookup(s => s.Value.Parent, s => s.Key);
        var pending = new Stack<int>(descendants ? [sid] : []);
        while (pending.Count > 0)
            foreach (var child in children[pending.Pop()])
                if (chosen.Add(child)) pending.Push(child);
        foreach (var pid in chosen) Kill(pid, signal);
        return chosen.Count > 0;
    }

    /// <summary>The processes whose process group is <paramref name="pgid"/> (read from <c>/proc</c>).</summary>
    public static IReadOnlyList<int> Members(int pgid) =>
        ReadAll().Where(s => s.Value.ProcessGroup == pgid).Select(s => s.Key).ToList();

    private static Dictionary<int, Stat> ReadAll()
    {
        var all = new Dictionary<int, Stat>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out var pid) && ReadStat(pid) is { } stat) all[pid] = stat;
        return all;
    }

    /// <summary>The kernel's start time of a live pid (clock ticks since boot), to tell our process from a reused pid.</summary>
    public static long? StartTicks(int pid) => ReadStat(pid)?.StartTicks;

    private sealed record Stat(int Parent, int ProcessGroup, int Session, long StartTicks);

    private static Stat? ReadStat(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // The command name (field 2) is in parentheses and may hold spaces or ')': fields resume after the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): ppid is field 4, pgrp field 5, session field 6, starttime field 22.
        if (fields.Length < 20 || fields[0] == "Z") return null;
        return new Stat(int.Parse(fields[1]), int.Parse(fields[2]), int.Parse(fields[3]), long.Parse(fields[19]));
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
