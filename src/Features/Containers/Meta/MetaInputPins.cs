using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Hive.Shared.Native;
using Microsoft.Win32.SafeHandles;

namespace Hive.Features.Containers;

/// <summary>
/// The content hash of a meta input that is a file or a directory, read without trusting what is at the path: inputs
/// often sit under <c>/shared</c>, where any agent can plant things. Only regular files are read (never a device, a FIFO or a
/// socket: <c>/dev/zero</c> has no end and a FIFO's open or read never returns), nothing is read through a symlink (a
/// file swapped for one between the lstat and the open is caught by the opened file's identity; a subdirectory swapped for
/// one mid-walk would be listed through it, which the bounds below cover), and the bytes read (names included) and the
/// time taken are bounded (<c>Hive:Meta:MaxInputBytes</c>, <c>InputTimeoutSeconds</c>); memory stays at one buffer plus
/// the names of the widest directory. Each refusal is a <see cref="MetaFileException"/>
/// saying why, so the update reports that input and carries on with the others.
/// </summary>
internal sealed partial class MetaInputPins(long maxBytes, TimeSpan timeLimit, CancellationToken cancellationToken) : IDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[64 * 1024];
    private long _bytes;

    /// <summary>What a source is, by lstat (a final symlink not followed); null when nothing is there.</summary>
    public static FileStatus? StatusOf(string source)
    {
        try
        {
            return FileStatus.OfPath(source);
        }
        catch (IOException e)
        {
            throw new MetaFileException($"input source {source} cannot be inspected: {e.Message}");
        }
    }

    /// <summary>Why a source of this type can never be an input; null for a regular file or a directory.</summary>
    public static string? RefusalOf(string source, FileStatus status) => status.Type switch
    {
        FileStatus.Regular or FileStatus.Directory => null,
        FileStatus.Symlink => $"input source {source} is a symbolic link: links are not followed; point the input at what it names",
        var type => $"input source {source} is a {KindOf(type)}: an input is a regular file, a directory or a git repository",
    };

    /// <summary>The pin of a regular file or a directory (already checked by <see cref="RefusalOf"/>): <c>sha256:…</c>.</summary>
    public string Pin(string source, FileStatus status)
    {
        if (status.Type == FileStatus.Regular)
        {
            if (!TryAppendFile(source, status)) throw new MetaFileException($"input source {source} changed while it was read: try again");
        }
        else
        {
            AppendTree(source, source);
        }
        return "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset());
    }

    /// <summary>
    /// Names and bytes of every regular file below, in the ordinal order of their relative paths (so the pin is the one
    /// earlier versions computed over a sorted list of the whole tree): a directory's entries are sorted with a directory
    /// keyed as <c>name/</c>, which orders its files exactly where their full paths fall. Symlinks and special files
    /// (FIFOs, sockets, devices) are skipped, never opened; a subdirectory that cannot be read is skipped as before.
    /// </summary>
    private void AppendTree(string root, string directory)
    {
        List<(string Key, string Path, FileStatus Status)> entries = [];
        IEnumerable<string> names;
        try
        {
            names = Directory.EnumerateFileSystemEntries(directory, "*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true });
            foreach (var path in names)
            {
                CheckTime(root);
                if (FileStatus.OfPath(path) is not { } status) continue; // gone since it was listed
                if (status.Type == FileStatus.Directory) entries.Add((Path.GetFileName(path) + "/", path, status));
                else if (status.Type == FileStatus.Regular) entries.Add((Path.GetFileName(path), path, status));
                Count(Encoding.UTF8.GetByteCount(path), root);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (directory == root) throw new MetaFileException($"input source {root} cannot be read: {e.Message}");
            return;
        }
        foreach (var (_, path, status) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (status.Type == FileStatus.Directory)
            {
                AppendTree(root, path);
                continue;
            }
            _hash.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(root, path) + "\0"));
            // Swapped for something else since it was listed (the hash cannot take the name back): this update skips the input.
            if (!TryAppendFile(path, status, root)) throw new MetaFileException($"input source {root} changed while it was read ({path}): try again");
        }
    }

    /// <summary>
    /// Reads one regular file into the hash: opened without blocking (O_NONBLOCK: a FIFO swapped in after the lstat opens
    /// at once and is then refused) and without becoming our terminal, then checked with fstat to be the very regular file
    /// the lstat saw. False when it is not (the caller decides what that means).
    /// </summary>
    private bool TryAppendFile(string path, FileStatus seen, string? root = null)
    {
        var fd = Open(path, ReadOnly | NoCtty | NonBlock | CloseOnExec, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is ENOENT or ENXIO) return false; // gone, or swapped for a socket, since the lstat
            throw new MetaFileException($"input source {path} cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (FileStatus.Of(handle) is not { Type: FileStatus.Regular } opened || opened.Device != seen.Device || opened.Inode != seen.Inode) return false;
        long offset = 0;
        while (true)
        {
            CheckTime(root ?? path);
            var read = RandomAccess.Read(handle, _buffer, offset);
            if (read == 0) return true;
            Count(read, root ?? path);
            _hash.AppendData(_buffer, 0, read);
            offset += read;
        }
    }

    public void Dispose() => _hash.Dispose();

    /// <summary>
    /// Checked between entries and between reads (each read of a regular file returns promptly), against the clock
    /// itself rather than a timer's callback, which a busy thread pool can run late.
    /// </summary>
    private void CheckTime(string source)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_clock.Elapsed > timeLimit)
            throw new MetaFileException($"input source {source} was not read within {timeLimit.TotalSeconds:0.###} s (Hive:Meta:InputTimeoutSeconds): it is not pinned");
    }

    private void Count(long bytes, string source)
    {
        _bytes += bytes;
        if (_bytes > maxBytes)
            throw new MetaFileException($"input source {source} holds more than {maxBytes} bytes (Hive:Meta:MaxInputBytes): it is not pinned");
    }

    private static string KindOf(uint type) => type switch
    {
        0x1000 => "FIFO",
        0x2000 => "character device",
        0x6000 => "block device",
        FileStatus.Socket => "socket",
        _ => $"special file (type {type:x})",
    };

    // O_RDONLY, O_NOCTTY 0400, O_NONBLOCK 04000, O_CLOEXEC 02000000 (octal): the same on every Linux architecture .NET
    // runs on (arm and powerpc differ only in O_DIRECTORY, O_NOFOLLOW and O_DIRECT, none of which is used here).
    private const int ReadOnly = 0, NoCtty = 0x100, NonBlock = 0x800, CloseOnExec = 0x80000;
    private const int ENOENT = 2, ENXIO = 6;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);
}
