using System.Runtime.InteropServices;

namespace Hive.Shared.Native;

/// <summary>
/// Keeps the host's open descriptors out of its children. The runtime opens its own with close-on-exec, but a descriptor
/// the host inherited from whoever started it (a shell's redirect, a launcher's secret file) has no such flag, and every
/// child (an agent, git, a probe) would get it. Marking every descriptor above stderr close-on-exec, at start-up and again
/// before each agent starts, leaves a child exactly stdin, stdout, stderr and what its starter passes on purpose.
/// </summary>
public static partial class InheritedDescriptors
{
    private const int F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;

    /// <summary>Sets close-on-exec on every open descriptor above 2 that lacks it; returns how many it changed.</summary>
    public static int MarkCloseOnExec()
    {
        var changed = 0;
        string[] entries;
        try { entries = Directory.GetFileSystemEntries("/proc/self/fd"); }
        catch (IOException) { return 0; }
        foreach (var entry in entries)
        {
            if (!int.TryParse(Path.GetFileName(entry), out var fd) || fd <= 2) continue;
            var flags = Fcntl(fd, F_GETFD, 0);
            if (flags < 0 || (flags & FD_CLOEXEC) != 0) continue; // closed meanwhile (the listing's own), or flagged already
            if (Fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0) changed++;
        }
        return changed;
    }

    [LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int Fcntl(int fd, int command, int argument);
}
