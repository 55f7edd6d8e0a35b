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

    private const uint CLOSE_RANGE_CLOEXEC = 4;
    private static volatile bool _noCloseRange;

    /// <summary>
    /// Sets close-on-exec on every open descriptor above 2: one <c>close_range(2)</c> call (Linux 5.11, glibc 2.34), else
    /// a scan of <c>/proc/self/fd</c>. The call, because this runs before every agent's fork on the one launcher thread and
    /// the scan's cost grows with the descriptors a fleet holds open (200 agents spent most of their ramp in it).
    /// </summary>
    public static void MarkCloseOnExec()
    {
        if (!_noCloseRange)
        {
            try
            {
                if (CloseRange(3, uint.MaxValue, CLOSE_RANGE_CLOEXEC) == 0) return;
            }
            catch (EntryPointNotFoundException) { }
            _noCloseRange = true; // an older kernel (ENOSYS, EINVAL) or C library: the scan from now on
        }
        MarkByScan();
    }

    /// <summary>Sets close-on-exec on every open descriptor above 2 that lacks it, one by one; returns how many it changed.</summary>
    internal static int MarkByScan()
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

    [LibraryImport("libc", EntryPoint = "close_range")]
    private static partial int CloseRange(uint first, uint last, uint flags);

    [LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int Fcntl(int fd, int command, int argument);
}
