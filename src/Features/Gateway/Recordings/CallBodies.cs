using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Threading.Channels;
using Hive.Shared;
using Hive.Shared.Files;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IO;

namespace Hive.Features.Gateway.Recordings;

/// <summary>
/// The recorded bodies of model calls, under <c>&lt;DataDir&gt;/gateway/bodies/</c>: each stored once by the SHA-256 of its
/// bytes (a conversation's requests repeat, and equal bodies are common), gzip-compressed, 0600 in 0700 directories, written
/// to a temp file and renamed into place (a reader sees all of one or nothing). What is recorded is what the agent sent
/// and what it got: the provider's key is added upstream, after recording, so it is in no body.
/// A body is named at once (its hash, for the call's row) and compressed and written by one background writer, so that a
/// call's connection does not wait for gzip and the disk; until it is on disk it is read from memory. A host that dies
/// meanwhile loses those bodies only (the call's row then says its body is gone, as retention would).
/// </summary>
internal sealed class CallBodies(HivePaths paths, ILogger<CallBodies> logger) : BackgroundService
{
    private const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Past this many bytes waiting for the writer, a call writes its body itself (the writer is behind).</summary>
    private const long MaxPendingBytes = 64L * 1024 * 1024;

    /// <summary>
    /// Pooled 64 KiB blocks for the responses being recorded: a response of a megabyte kept in one growing array lives on
    /// the large object heap, and one per call made the GC's full collections most of the gateway's CPU (measured).
    /// </summary>
    private static readonly RecyclableMemoryStreamManager Buffers = new(new RecyclableMemoryStreamManager.Options
    {
        BlockSize = 64 * 1024, MaximumSmallPoolFreeBytes = 64L * 1024 * 1024, AggressiveBufferReturn = true,
    });

    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private long _pendingBytes;

    public string Dir => Path.Combine(paths.DataDir, "gateway", "bodies");

    /// <summary>A pooled buffer to record a response into; given back by <see cref="Store(RecyclableMemoryStream)"/>.</summary>
    public static RecyclableMemoryStream NewBuffer() => Buffers.GetStream("gateway.body");

    /// <summary>Stores a request's body (once per content) and answers its name (the hex SHA-256); the array is given away.</summary>
    public string Store(ReadOnlyMemory<byte> body) => Store(new ReadOnlySequence<byte>(body), null);

    /// <summary>Stores a recorded response and answers its name; the buffer is given away (back to the pool once written).</summary>
    public string Store(RecyclableMemoryStream body) => Store(body.GetReadOnlySequence(), body);

    private string Store(ReadOnlySequence<byte> body, IDisposable? owner)
    {
        var hash = HashOf(body);
        var file = PathOf(hash);
        if (_pending.ContainsKey(hash))
        {
            owner?.Dispose();
        }
        else if (File.Exists(file))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow); // kept as long as it is still used
            owner?.Dispose();
        }
        else if (Interlocked.Read(ref _pendingBytes) + body.Length > MaxPendingBytes || !_pending.TryAdd(hash, new Pending(body, owner)))
        {
            Write(hash, body);
            owner?.Dispose();
        }
        else
        {
            Interlocked.Add(ref _pendingBytes, body.Length);
            _queue.Writer.TryWrite(hash);
        }
        return hash;
    }

    private static string HashOf(ReadOnlySequence<byte> body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var segment in body) sha.AppendData(segment.Span);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var hash in _queue.Reader.ReadAllAsync(stoppingToken)) WritePending(hash);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out var hash)) WritePending(hash); // what the calls so far recorded reaches the disk
    }

    private void WritePending(string hash)
    {
        if (!_pending.TryGetValue(hash, out var body)) return;
        try
        {
            Write(hash, body.Bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("gateway: could not record a call's body: {Error}", e.Message);
        }
        finally
        {
            _pending.TryRemove(hash, out _);
            Interlocked.Add(ref _pendingBytes, -body.Bytes.Length);
            body.Release();
        }
    }

    private void Write(string hash, ReadOnlySequence<byte> body)
    {
        var file = PathOf(hash);
        var dir = Path.GetDirectoryName(file)!;
        Directory.CreateDirectory(dir, DirMode);
        PrivateFile.Write(file, stream =>
        {
            using var gzip = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
            foreach (var segment in body) gzip.Write(segment.Span);
        }, Durability.None);
    }

    /// <summary>A body waiting for the writer; a reader copies it under its lock, so its pooled blocks are never read once given back.</summary>
    private sealed class Pending(ReadOnlySequence<byte> bytes, IDisposable? owner)
    {
        private readonly Lock _lock = new();
        private bool _released;

        public ReadOnlySequence<byte> Bytes => bytes;

        public byte[]? Copy()
        {
            lock (_lock) return _released ? null : bytes.ToArray();
        }

        public void Release()
        {
            lock (_lock)
            {
                _released = true;
                owner?.Dispose();
            }
        }
    }

    /// <summary>A stored body's bytes; null when it is not (never recorded, or gone with retention).</summary>
    public byte[]? Read(string hash)
    {
        if (hash.Length != 64 || !hash.All(Uri.IsHexDigit)) return null;
        if (_pending.TryGetValue(hash, out var waiting) && waiting.Copy() is { } copy) return copy;
        var file = PathOf(hash);
        if (!File.Exists(file)) return null;
        using var gzip = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>Whether a body is stored (or on its way), marking it used now so retention keeps it as long as a recent one.</summary>
    public bool Keep(string hash)
    {
        if (_pending.ContainsKey(hash)) return true;
        try
        {
            File.SetLastWriteTimeUtc(PathOf(hash), DateTime.UtcNow);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // FileNotFoundException among them: gone with retention
        }
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
