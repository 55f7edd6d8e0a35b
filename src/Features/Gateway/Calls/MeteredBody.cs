using System.Diagnostics;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// The response body on its way to the agent: every write goes straight through (YARP's copy keeps its backpressure),
/// and is shown to the <see cref="UsageMeter"/> and, up to a bound, kept for the call's recording.
/// </summary>
internal sealed class MeteredBody(Stream inner, UsageMeter meter, Stopwatch watch, int recordUpTo) : Stream
{
    private MemoryStream? _recorded;

    public long Bytes { get; private set; }
    public double? FirstByteMs { get; private set; }

    /// <summary>What was kept for the recording (the first <c>recordUpTo</c> bytes); empty when recording is off.</summary>
    public ReadOnlyMemory<byte> Recorded => _recorded is null ? ReadOnlyMemory<byte>.Empty : _recorded.GetBuffer().AsMemory(0, (int)_recorded.Length);

    private void Saw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return;
        FirstByteMs ??= watch.Elapsed.TotalMilliseconds;
        Bytes += bytes.Length;
        meter.Feed(bytes);
        if (recordUpTo > 0)
        {
            _recorded ??= new MemoryStream();
            var room = recordUpTo - (int)_recorded.Length;
            if (room > 0) _recorded.Write(bytes[..Math.Min(room, bytes.Length)]);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Saw(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        Saw(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override void Flush() => inner.Flush();
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
