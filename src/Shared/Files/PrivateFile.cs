using System.Runtime.InteropServices;
using System.Text;

namespace Hive.Shared.Files;

/// <summary>What a private file's write promises if the machine stops (power loss, kernel panic) right after it.</summary>
public enum Durability
{
    /// <summary>Readers see the old file or the new one, whole; after a crash the file may be old, new or empty. For files
    /// the host writes again before each use.</summary>
    None,

    /// <summary>The content is on disk before the rename: after a crash the file is the old one or the new one, never torn
    /// or empty (the rename itself may be lost).</summary>
    NeverTorn,

    /// <summary>The content and the rename are on disk when the write returns: the new file survives a crash.</summary>
    Durable,
}

/// <summary>
/// The one way the host writes a file of its own that others must not read: a temp file beside the target (so the rename
/// stays in one file system), exactly 0600 from its creation whatever the umask, written, synced as the
/// <see cref="Durability"/> asks, and renamed over the name (a link planted there is replaced, never followed). On a
/// failure the temp file is removed and the target is as it was.
/// </summary>
public static partial class PrivateFile
{
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void Write(string path, ReadOnlySpan<byte> content, Durability durability)
    {
        using var pending = Prepare(path);
        pending.Commit(content, durability);
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark).</summary>
    public static void WriteText(string path, string text, Durability durability) =>
        Write(path, Encoding.UTF8.GetBytes(text), durability);

    /// <summary>Writes what <paramref name="write"/> puts in the stream (for content made as it is written, such as gzip).</summary>
    public static void Write(string path, Action<Stream> write, Durability durability)
    {
        using var pending = Prepare(path);
        pending.Commit(write, durability);
    }

    /// <summary>
    /// Creates the file at <paramref name="path"/> only if nothing is there: the content is written to a temp file, then
    /// hard-linked to the name, which fails when another process created it first. False then, and nothing is changed.
    /// </summary>
    public static bool TryCreate(string path, ReadOnlySpan<byte> content, Durability durability)
    {
        using var pending = Prepare(path);
        return pending.CommitIfAbsent(content, durability);
    }

    /// <summary>
    /// Makes the temp file now, so a directory that cannot take the file is known before the content is (for content that
    /// is costly or has side effects to make); <see cref="Pending.Commit(ReadOnlySpan{byte}, Durability)"/> writes and
    /// renames it, and disposing removes what is left.
    /// </summary>
    public static Pending Prepare(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, UnixCreateMode = Mode, // private from the first byte...
        });
        try
        {
            File.SetUnixFileMode(stream.SafeFileHandle, Mode); // ...and exactly 0600, whatever the umask
        }
        catch
        {
            stream.Dispose();
            File.Delete(temp);
            throw;
        }
        return new Pending(path, directory, temp, stream);
    }

    /// <summary>Makes a rename or an unlink in <paramref name="directory"/> durable (.NET will not open a directory, so libc does).</summary>
    public static void SyncDirectory(string directory)
    {
        var fd = Open(directory, O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw new IOException($"cannot open {directory} to fsync it: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of {directory} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>A temp file made by <see cref="Prepare"/>, waiting for its content.</summary>
    public sealed class Pending : IDisposable
    {
        private readonly string _path;
        private readonly string _directory;
        private readonly string _temp;
        private readonly FileStream _stream;
        private bool _done;

        internal Pending(string path, string directory, string temp, FileStream stream) =>
            (_path, _directory, _temp, _stream) = (path, directory, temp, stream);

        public void Commit(ReadOnlySpan<byte> content, Durability durability)
        {
            _stream.Write(content);
            Finish(durability, link: false);
        }

        public void Commit(Action<Stream> write, Durability durability)
        {
            write(_stream);
            Finish(durability, link: false);
        }

        internal bool CommitIfAbsent(ReadOnlySpan<byte> content, Durability durability)
        {
            _stream.Write(content);
            return Finish(durability, link: true);
        }

        private bool Finish(Durability durability, bool link)
        {
            if (_done) throw new InvalidOperationException("a pending private file is committed once");
            _done = true;
            _stream.Flush(flushToDisk: durability != Durability.None);
            _stream.Dispose();
            if (link)
            {
                if (Link(_temp, _path) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EEXIST) return false;
                    throw new IOException($"cannot create {_path}: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
                File.Delete(_temp);
            }
            else
            {
                File.Move(_temp, _path, overwrite: true);
            }
            if (durability == Durability.Durable) SyncDirectory(_directory);
            return true;
        }

        /// <summary>Removes the temp file when it was not renamed into place (nothing when it was).</summary>
        public void Dispose()
        {
            _stream.Dispose();
            try
            {
                File.Delete(_temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // the directory went or turned read-only: nothing more can be done, and the caller's own error says more
            }
        }
    }

    private const int O_RDONLY = 0, O_CLOEXEC = 0x80000; // the same on x86-64 and arm64
    private const int EEXIST = 17;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);
}
