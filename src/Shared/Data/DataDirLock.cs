using System.Runtime.InteropServices;
using System.Text;
using Hive.Shared.Errors;
using Microsoft.Win32.SafeHandles;

namespace Hive.Shared.Data;

/// <summary>
/// One host per data dir: an exclusive <c>flock(2)</c> on <c>&lt;DataDir&gt;/hive.lock</c>, taken before anything in the
/// data dir is touched (the token file, the database, the sockets) and held for the host's life (the kernel drops it
/// when the process dies, however it dies; disposing releases it for an in-process restart). A second host finds it
/// held and refuses with one line, having changed nothing. The file holds the holder's pid, for that line.
/// </summary>
public sealed partial class DataDirLock : IDisposable
{
    public const string FileName = "hive.lock";

    private const int O_RDONLY = 0, O_RDWR = 2, O_CREAT = 0x40, O_CLOEXEC = 0x80000; // the same on x86-64 and arm64 (asm-generic)
    private const int LOCK_EX = 2, LOCK_NB = 4;
    private const int EWOULDBLOCK = 11;

    private readonly SafeFileHandle _handle;

    private DataDirLock(string path, SafeFileHandle handle)
    {
        Path = path;
        _handle = handle;
    }

    public string Path { get; }

    /// <summary>Creates the data dir if it is missing (0700) and takes the lock; throws <see cref="HiveStartupException"/> when it cannot.</summary>
    public static DataDirLock Acquire(HivePaths paths)
    {
        var dir = paths.DataDir;
        if (File.Exists(dir)) throw new HiveStartupException($"Hive:DataDir {dir} is a file, not a directory");
        // A shared sticky directory such as /tmp is refused before anything is created in it.
        if (Directory.Exists(dir) && File.GetUnixFileMode(dir).HasFlag(UnixFileMode.StickyBit))
            throw new HiveStartupException($"Hive:DataDir {dir} is a shared directory (sticky bit set): give the hive a directory of its own");
        if (!Directory.Exists(dir))
        {
            try { HivePaths.EnsurePrivateDirectory(dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new HiveStartupException($"cannot create the data dir {dir}: {e.Message}");
            }
        }

        var path = System.IO.Path.Combine(dir, FileName);
        var fd = Open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0x180 /* 0600 */);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new HiveStartupException($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(errno)} (the data dir must be writable by the host)");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Flock(handle, LOCK_EX | LOCK_NB) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            if (errno == EWOULDBLOCK)
                throw new HiveStartupException(
                    $"another host{HolderOf(path)} is running on the data dir {dir} (it holds {path}): stop it first, or give this host another Hive:DataDir");
            throw new HiveStartupException($"cannot lock {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        // Ours now: record who holds it (for the second host's line). Best effort: the lock, not the text, is what counts.
        try
        {
            var pid = Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
            RandomAccess.SetLength(handle, 0);
            RandomAccess.Write(handle, pid, 0);
        }
        catch (IOException) { }
        return new DataDirLock(path, handle);
    }

    /// <summary>" (pid N)" from the lock file, read without .NET's own advisory lock (which the holder's flock would refuse).</summary>
    private static string HolderOf(string path)
    {
        var fd = Open(path, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) return "";
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var buffer = new byte[32];
        var read = Read(handle, buffer, buffer.Length);
        var text = read > 0 ? Encoding.ASCII.GetString(buffer, 0, (int)read).Trim() : "";
        return int.TryParse(text, out var pid) ? $" (pid {pid})" : "";
    }

    public void Dispose() => _handle.Dispose(); // closing the descriptor releases the flock

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(SafeFileHandle fd, int operation);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(SafeFileHandle fd, byte[] buffer, nint count);
}
