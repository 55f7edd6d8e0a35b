using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Hive.Features.StateFiles;

/// <summary>
/// The few libc calls .NET does not expose: an open that neither follows a final symlink nor blocks on a FIFO,
/// and fstat on the opened descriptor (the type of what was opened, not of what a path named a moment earlier).
/// </summary>
internal static partial class Native
{
    private const int O_RDONLY = 0x0;
    private const int O_NONBLOCK = 0x800;
    private const int O_NOFOLLOW = 0x20000;
    private const int O_CLOEXEC = 0x80000;
    private const int O_NOCTTY = 0x100;

    private const uint S_IFMT = 0xF000;
    private const uint S_IFREG = 0x8000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStat(SafeFileHandle fd, byte[] buffer);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);

    /// <summary>Opens for reading without following a final symlink and without blocking; null when it cannot be opened.</summary>
    public static SafeFileHandle? OpenNoFollow(string path)
    {
        var fd = Open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The descriptor's st_mode and st_nlink (glibc's struct stat layout for x86-64 and arm64).</summary>
    public static (bool IsRegular, long Links) Stat(SafeFileHandle handle)
    {
        var buffer = new byte[256];
        if (FStat(handle, buffer) != 0) return (false, 0);
        uint mode;
        long links;
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            links = BitConverter.ToInt64(buffer, 16);
            mode = BitConverter.ToUInt32(buffer, 24);
        }
        else
        {
            mode = BitConverter.ToUInt32(buffer, 16);
            links = BitConverter.ToUInt32(buffer, 20);
        }
        return ((mode & S_IFMT) == S_IFREG, links);
    }

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

    /// <summary>realpath(3): every symlink resolved; null when any component is missing or a loop.</summary>
    public static string? CanonicalPath(string path)
    {
        var resolved = RealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }
}
