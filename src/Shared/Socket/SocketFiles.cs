using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Hive.Shared.Socket;

/// <summary>
/// What is at an agent's socket path, before the host binds there and before it removes the file: the host never
/// unlinks a path another process listens on, never binds over a directory or a regular file, and on the way out
/// removes only the socket file it created itself (same device and inode as right after its bind).
/// </summary>
public static partial class SocketFiles
{
    /// <summary>sun_path is 108 bytes on Linux, its terminating NUL included.</summary>
    public const int MaxPathBytes = 107;

    public readonly record struct Identity(ulong Device, ulong Inode);

    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const uint STATX_TYPE = 0x1, STATX_INO = 0x100;
    private const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFDIR = 0x4000;
    private const int ENOENT = 2;

    /// <summary>
    /// Why the host cannot listen at <paramref name="path"/> (one line naming it), or null when it can: nothing there,
    /// or a stale socket nobody listens on (which the caller replaces).
    /// </summary>
    public static string? Problem(string path)
    {
        var bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes > MaxPathBytes)
            return (
                $"the socket path {path} is {bytes} bytes, over the kernel's limit of {MaxPathBytes} for a Unix socket: use a shorter Hive:DataDir");
        var type = TypeOf(path, out _);
        if (type is null) return null;
        if (type == S_IFDIR) return $"{path} is a directory, not a socket: move it away";
        if (type != S_IFSOCK) return $"{path} exists and is not a socket: move it away";
        return IsListening(path) ? $"another process is listening on {path}: stop it first (the host never takes over a live socket)" : null;
    }

    /// <summary>The device and inode of what is at the path (without following a symlink); null when nothing is.</summary>
    public static Identity? IdentityOf(string path) => TypeOf(path, out var identity) is null ? null : identity;

    /// <summary>Whether something accepts connections at the path (a refused or failed connect means a stale file).</summary>
    public static bool IsListening(string path)
    {
        using var probe = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            return false; // ECONNREFUSED: a socket file nobody listens on (or ENOENT: gone meanwhile)
        }
        catch (SocketException)
        {
            return true; // EAGAIN (a full backlog) and the like: someone is there; never take it over
        }
    }

    /// <summary>Removes the socket file only if it is still the one identified (not one another process bound since).</summary>
    public static void DeleteIfSame(string path, Identity? ours)
    {
        if (ours is null || IdentityOf(path) != ours) return;
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    // statx(2): one struct layout on every architecture (include/uapi/linux/stat.h).
    private const int StatxSize = 0x100;
    private const int ModeOffset = 0x1C;       // __u16 stx_mode
    private const int InodeOffset = 0x20;      // __u64 stx_ino
    private const int DevMajorOffset = 0x88;   // __u32 stx_dev_major
    private const int DevMinorOffset = 0x8C;   // __u32 stx_dev_minor

    private static uint? TypeOf(string path, out Identity identity)
    {
        identity = default;
        var buffer = new byte[StatxSize];
        if (StatX(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_INO, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == ENOENT) return null;
            throw new IOException($"cannot inspect {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        var mode = BitConverter.ToUInt16(buffer, ModeOffset);
        var device = ((ulong)BitConverter.ToUInt32(buffer, DevMajorOffset) << 32) | BitConverter.ToUInt32(buffer, DevMinorOffset);
        identity = new Identity(device, BitConverter.ToUInt64(buffer, InodeOffset));
        return mode & S_IFMT;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatX(int dirfd, string path, int flags, uint mask, byte[] buffer);
}
