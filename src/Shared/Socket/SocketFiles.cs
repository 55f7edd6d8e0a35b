using System.Net.Sockets;
using System.Text;
using Hive.Shared.Native;

namespace Hive.Shared.Socket;

/// <summary>
/// What is at an agent's socket path, before the host binds there and before it removes the file: the host never
/// unlinks a path another process listens on, never binds over a directory or a regular file, and on the way out
/// removes only the socket file it created itself (same device and inode as right after its bind).
/// </summary>
public static class SocketFiles
{
    /// <summary>sun_path is 108 bytes on Linux, its terminating NUL included.</summary>
    public const int MaxPathBytes = 107;

    public readonly record struct Identity(ulong Device, ulong Inode);

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
        if (FileStatus.OfPath(path) is not { } status) return null;
        if (status.Type == FileStatus.Directory) return $"{path} is a directory, not a socket: move it away";
        if (status.Type != FileStatus.Socket) return $"{path} exists and is not a socket: move it away";
        return IsListening(path) ? $"another process is listening on {path}: stop it first (the host never takes over a live socket)" : null;
    }

    /// <summary>The device and inode of what is at the path (without following a symlink); null when nothing is.</summary>
    public static Identity? IdentityOf(string path) =>
        FileStatus.OfPath(path) is { } status ? new Identity(status.Device, status.Inode) : null;

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

    /// <summary>
    /// A listening Unix socket at <paramref name="path"/> (replacing a stale one) with <paramref name="mode"/>, and the
    /// identity of the file it made. Bound first under <paramref name="bound"/> (a name of the caller's, as long as the real
    /// one so it fits wherever that does), then renamed into place: .NET unlinks the path a socket was bound to when it is
    /// disposed, and that must never be the real path, which by then may be another process's socket. Throws
    /// <see cref="IOException"/> with one line naming the path when something else is there.
    /// </summary>
    public static (System.Net.Sockets.Socket Socket, Identity? Created) Listen(string path, string bound, UnixFileMode mode, int backlog = 512)
    {
        // Never over a directory or a file, never over a live listener of another process; a stale socket is replaced.
        if (Problem(path) is { } problem) throw new IOException(problem);
        if (File.Exists(bound)) File.Delete(bound); // ours (the data dir is locked): left by a crash
        var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Identity? created = null;
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(bound));
            File.SetUnixFileMode(bound, mode);
            created = IdentityOf(bound);
            socket.Listen(backlog);
            File.Move(bound, path, overwrite: true);
            return (socket, created);
        }
        catch
        {
            socket.Dispose();
            DeleteIfSame(path, created);
            throw;
        }
    }

    /// <summary>Removes the socket file only if it is still the one identified (not one another process bound since).</summary>
    public static void DeleteIfSame(string path, Identity? ours)
    {
        if (ours is null || IdentityOf(path) != ours) return;
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
