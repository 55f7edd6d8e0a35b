using System.Runtime.InteropServices;
using Hive.Shared.Native;
using Microsoft.Win32.SafeHandles;

namespace Hive.Features.StateFiles;

/// <summary>
/// The few libc calls .NET does not expose: an open that neither follows a final symlink nor blocks on a FIFO,
/// and statx on the opened descriptor (the type of what was opened, not of what a path named a moment earlier).
/// </summary>
internal static partial class Native
{
    // errno values from asm-generic/errno-base.h, shared by every architecture in OpenFlags' table.
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    private const uint S_IFREG = FileStatus.Regular;
    private const uint S_IFLNK = FileStatus.Symlink;

    /// <summary>This machine's open(2) flags; throws <see cref="PlatformNotSupportedException"/> on an unknown architecture.</summary>
    internal static OpenFlags Flags => field ??= OpenFlags.For(RuntimeInformation.ProcessArchitecture);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenAt(SafeFileHandle dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenAt(SafeFileHandle dirfd, string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkdirAt(SafeFileHandle dirfd, string path, uint mode);

    private const int EEXIST = 17;

    /// <summary>
    /// Creates <paramref name="name"/> (mode 0600) in the directory <paramref name="directory"/> (made 0700 when missing)
    /// below <paramref name="root"/>, each step relative to the descriptor before it: neither the directory nor the file
    /// may be a symlink (O_NOFOLLOW; O_CREAT | O_EXCL never follows one), so a link planted by the directory's owner
    /// cannot send the write elsewhere. IOException with the reason when a step fails (the name exists, say).
    /// </summary>
    public static SafeFileHandle CreateNew(string root, string directory, string name)
    {
        var flags = Flags;
        using var rootHandle = OpenHandle(root, OpenFlags.ReadOnly | flags.Directory | flags.NoFollow | flags.CloseOnExec)
            ?? throw Failure($"{root} cannot be opened as a directory");
        if (MkdirAt(rootHandle, directory, 0x1C0) != 0 && Marshal.GetLastPInvokeError() != EEXIST)
            throw Failure($"{directory} cannot be made in {root}");
        var dirFd = OpenAt(rootHandle, directory, OpenFlags.ReadOnly | flags.Directory | flags.NoFollow | flags.CloseOnExec);
        if (dirFd < 0) throw Failure($"{root}/{directory} is not a directory (a link?)");
        using var dirHandle = new SafeFileHandle(dirFd, ownsHandle: true);
        var fd = OpenAt(dirHandle, name, OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive | flags.NoFollow | flags.CloseOnExec, 0x180);
        if (fd < 0) throw Failure($"{root}/{directory}/{name} cannot be created");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        // What the host makes in an agent's dir is the agent's: a root host runs the agent as a user of its own.
        try
        {
            if (FileStatus.OwnerOf(rootHandle) is var (uid, gid))
            {
                Ownership.GiveTo(dirHandle, uid, gid, $"{root}/{directory}");
                Ownership.GiveTo(handle, uid, gid, $"{root}/{directory}/{name}");
            }
        }
        catch (IOException)
        {
            handle.Dispose();
            throw;
        }
        return handle;
    }

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnlinkAt(SafeFileHandle dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt(SafeFileHandle olddirfd, string oldpath, SafeFileHandle newdirfd, string newpath);

    /// <summary>
    /// A new file beside <paramref name="name"/> in <paramref name="root"/> (opened without following a link; the temp file
    /// made with O_EXCL, never through one), given to the directory's owner: (the directory, the temp file, its name).
    /// </summary>
    public static (SafeFileHandle Directory, SafeFileHandle File, string TempName) CreateTempBeside(string root, string name)
    {
        var flags = Flags;
        var directory = OpenHandle(root, OpenFlags.ReadOnly | flags.Directory | flags.NoFollow | flags.CloseOnExec)
            ?? throw Failure($"{root} cannot be opened as a directory");
        var temp = $".{name}.{Guid.NewGuid():N}";
        var fd = OpenAt(directory, temp, OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive | flags.NoFollow | flags.CloseOnExec, 0x180);
        if (fd < 0)
        {
            var failure = Failure($"{root}/{temp} cannot be created");
            directory.Dispose();
            throw failure;
        }
        var file = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (FileStatus.OwnerOf(directory) is var (uid, gid)) Ownership.GiveTo(file, uid, gid, $"{root}/{temp}");
        }
        catch (IOException)
        {
            file.Dispose();
            UnlinkAt(directory, temp, 0);
            directory.Dispose();
            throw;
        }
        return (directory, file, temp);
    }

    /// <summary>renameat(2) within one directory: <paramref name="to"/> is replaced whatever it is (a link there is replaced, never followed).</summary>
    public static void RenameWithin(SafeFileHandle directory, string from, string to)
    {
        if (RenameAt(directory, from, directory, to) != 0) throw Failure($"{from} cannot be renamed to {to}");
    }

    /// <summary>unlinkat(2) of a name in the directory; false when it was already gone.</summary>
    public static bool UnlinkWithin(SafeFileHandle directory, string name) => UnlinkAt(directory, name, 0) == 0;

    /// <summary>
    /// Removes <paramref name="name"/> from <paramref name="directory"/> below <paramref name="root"/>, the directory opened
    /// without following a link (a link planted in its place is never deleted through) and the name unlinked, not followed.
    /// False when there is nothing to remove; IOException when a step fails for another reason.
    /// </summary>
    public static bool DeleteAt(string root, string directory, string name)
    {
        var flags = Flags;
        using var rootHandle = OpenHandle(root, OpenFlags.ReadOnly | flags.Directory | flags.NoFollow | flags.CloseOnExec)
            ?? throw Failure($"{root} cannot be opened as a directory");
        var dirFd = OpenAt(rootHandle, directory, OpenFlags.ReadOnly | flags.Directory | flags.NoFollow | flags.CloseOnExec);
        if (dirFd < 0)
        {
            if (Marshal.GetLastPInvokeError() == ENOENT) return false;
            throw Failure($"{root}/{directory} is not a directory (a link?)");
        }
        using var dirHandle = new SafeFileHandle(dirFd, ownsHandle: true);
        if (UnlinkAt(dirHandle, name, 0) == 0) return true;
        if (Marshal.GetLastPInvokeError() == ENOENT) return false;
        throw Failure($"{root}/{directory}/{name} cannot be removed");
    }

    private static IOException Failure(string what) => new($"{what}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    /// <summary>
    /// Throws unless this machine's flags are known and do what the allow-list relies on; called once at start-up,
    /// so Hive refuses to run rather than serve files through a no-follow guarantee that is not there.
    /// </summary>
    public static void RequireSupportedPlatform()
    {
        var flags = Flags;
        try
        {
            // /proc/self/exe is a symlink and /proc/self/stat a regular file on every Linux (PathOf needs /proc too).
            using var link = OpenHandle("/proc/self/exe", flags.Path | flags.NoFollow | flags.CloseOnExec);
            if (link is null || Status(link)?.Type != S_IFLNK)
                throw new PlatformNotSupportedException(
                    "open(O_PATH | O_NOFOLLOW) did not open /proc/self/exe as a symlink: OpenFlags has the wrong O_NOFOLLOW for this machine");
            using var file = OpenHandle("/proc/self/stat", flags.Path | flags.Directory | flags.CloseOnExec);
            if (file is not null)
                throw new PlatformNotSupportedException(
                    "open(O_DIRECTORY) opened the regular file /proc/self/stat: OpenFlags has the wrong O_DIRECTORY for this machine");
        }
        catch (EntryPointNotFoundException e)
        {
            throw new PlatformNotSupportedException("libc lacks statx(2): Hive needs glibc 2.28+ or musl 1.2.5+", e);
        }
    }

    /// <summary>Opens for reading without following a final symlink and without blocking; null when it cannot be opened.</summary>
    public static SafeFileHandle? OpenNoFollow(string path)
    {
        var flags = Flags;
        return OpenHandle(path, OpenFlags.ReadOnly | flags.NoFollow | flags.NonBlock | flags.CloseOnExec | flags.NoCtty);
    }

    /// <summary>Whether the descriptor is a regular file, and its hard-link count (false and 0 when statx fails).</summary>
    public static (bool IsRegular, long Links) Stat(SafeFileHandle handle) =>
        Status(handle) is { } status ? (status.Type == S_IFREG, status.Links) : (false, 0);

    /// <summary>The kernel's canonical path of an open descriptor (what was really opened).</summary>
    public static string? PathOf(SafeFileHandle handle)
    {
        try
        {
            return File.ResolveLinkTarget($"/proc/self/fd/{handle.DangerousGetHandle()}", returnFinalTarget: false)?.FullName;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// What realpath(3) answers (every symlink resolved; null when a component is missing, or a loop), in O(depth):
    /// the kernel resolves the path once (open with O_PATH, which neither reads nor blocks on a FIFO) and
    /// /proc/self/fd names what it found. glibc's realpath readlink()s every prefix instead, O(depth^2) path lookups:
    /// 7 s for the 64 candidates of one 100 KiB body naming files 780 real directories deep.
    /// </summary>
    public static string? CanonicalPath(string path)
    {
        using var handle = OpenHandle(path, Flags.Path | Flags.CloseOnExec);
        if (handle is null) return null;
        var real = PathOf(handle);
        return real is null || real.EndsWith(" (deleted)", StringComparison.Ordinal) ? null : real;
    }

    public enum WalkEnd
    {
        /// <summary>A component is missing (or lies below a non-directory), and no symlink came before it.</summary>
        Missing,
        /// <summary>A symlink on the way, or a component that cannot be looked up.</summary>
        Symlink,
        /// <summary>Every component is there and none is a symlink.</summary>
        Complete,
    }

    /// <summary>
    /// Walks <paramref name="below"/> from the directory <paramref name="root"/> one component at a time, each an
    /// openat(O_PATH | O_NOFOLLOW) relative to the previous one (O(1) each, so O(depth) in all), stopping at the first
    /// component that is missing or is a symlink.
    /// </summary>
    public static WalkEnd Walk(string root, IEnumerable<string> below)
    {
        var flags = Flags;
        var current = OpenHandle(root, flags.Path | flags.Directory | flags.CloseOnExec);
        if (current is null) return WalkEnd.Missing;
        try
        {
            foreach (var part in below)
            {
                var nextFd = OpenAt(current, part, flags.Path | flags.NoFollow | flags.CloseOnExec);
                if (nextFd < 0) return Marshal.GetLastPInvokeError() is ENOENT or ENOTDIR ? WalkEnd.Missing : WalkEnd.Symlink;
                current.Dispose();
                current = new SafeFileHandle(nextFd, ownsHandle: true);
                if (Status(current) is not { } status || status.Type == S_IFLNK) return WalkEnd.Symlink;
            }
            return WalkEnd.Complete;
        }
        finally
        {
            current.Dispose();
        }
    }

    private static SafeFileHandle? OpenHandle(string path, int flags)
    {
        var fd = Open(path, flags);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The descriptor's file type (<c>st_mode &amp; S_IFMT</c>) and link count; null when statx cannot say.</summary>
    // statx(2) through the shared FileStatus: one struct layout on every architecture.
    private static FileStatus? Status(SafeFileHandle handle) => FileStatus.Of(handle);
}
