using System.IO.Compression;
using System.Security.Cryptography;
using Hive.Shared;

namespace Hive.Features.Gateway.Recordings;

/// <summary>
/// The recorded bodies of model calls, under <c>&lt;DataDir&gt;/gateway/bodies/</c>: each stored once by the SHA-256 of its
/// bytes (a conversation's requests repeat, and equal bodies are common), gzip-compressed, 0600 in 0700 directories, written
/// to a temp file and renamed into place (a reader sees all of one or nothing). What is recorded is what the agent sent
/// and what it got: the provider's key is added upstream, after recording, so it is in no body.
/// </summary>
internal sealed class CallBodies(HivePaths paths)
{
    private const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode BodyMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string Dir => Path.Combine(paths.DataDir, "gateway", "bodies");

    /// <summary>Stores the body (once per content) and answers its name (the hex SHA-256).</summary>
    public string Store(ReadOnlySpan<byte> body)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(body));
        var file = PathOf(hash);
        if (File.Exists(file))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow); // kept as long as it is still used
            return hash;
        }
        var dir = Path.GetDirectoryName(file)!;
        Directory.CreateDirectory(dir, DirMode);
        var temp = Path.Combine(dir, $".{hash}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = BodyMode }))
        using (var gzip = new GZipStream(stream, CompressionLevel.Fastest))
            gzip.Write(body);
        File.Move(temp, file, overwrite: true);
        return hash;
    }

    /// <summary>A stored body's bytes; null when it is not (never recorded, or gone with retention).</summary>
    public byte[]? Read(string hash)
    {
        if (hash.Length != 64 || !hash.All(Uri.IsHexDigit)) return null;
        var file = PathOf(hash);
        if (!File.Exists(file)) return null;
        using var gzip = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        return bytes.ToArray();
    }

    private string PathOf(string hash) => Path.Combine(Dir, hash[..2], hash + ".gz");

    /// <summary>Removes bodies not used for <paramref name="days"/>, then the oldest until the rest fit in <paramref name="maxBytes"/>.</summary>
    public int Sweep(TimeSpan keep, long maxBytes, DateTime nowUtc)
    {
        if (!Directory.Exists(Dir)) return 0;
        var files = new DirectoryInfo(Dir).EnumerateFiles("*.gz", SearchOption.AllDirectories).OrderBy(f => f.LastWriteTimeUtc).ToList();
        var total = files.Sum(f => f.Length);
        var removed = 0;
        foreach (var file in files)
        {
            if (file.LastWriteTimeUtc > nowUtc - keep && total <= maxBytes) break;
            total -= file.Length;
            try { file.Delete(); removed++; } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return removed;
    }
}
