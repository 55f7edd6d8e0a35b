using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Hive.Shared.Native;

/// <summary>
/// Files the host writes into a directory an agent owns (its state dir, under a root host that runs the agent as a user of
/// its own) become the agent's, so the agent can read what was made for it. Under any other host this changes nothing.
/// </summary>
public static partial class Ownership
{
    /// <summary>Gives the open file (or directory) <paramref name="what"/> to <paramref name="uid"/>:<paramref name="gid"/>, unless it is theirs already.</summary>
    public static void GiveTo(SafeFileHandle file, uint uid, uint gid, string what)
    {
        if (FileStatus.OwnerOf(file) == (uid, gid)) return;
        if (FChown(file, uid, gid) != 0)
            throw new IOException($"cannot give {what} to its owner: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FChown(SafeFileHandle fd, uint uid, uint gid);
}
