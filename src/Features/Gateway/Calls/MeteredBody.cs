using System.Diagnostics;
using Microsoft.IO;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// The response body on its way to the agent: every write goes straight through (YARP's copy keeps its backpressure),
/// and is shown to the <see cref="UsageMeter"/> and, up to a bound, kept for the call's recording. With
/// <paramref name="hideUsageChunk"/> (an OpenAI chat stream whose usage the gateway asked for, the agent did not), the
/// usage chunk (empty <c>choices</c>, a <c>usage</c>) is metered and recorded but kept from the agent, which reads the
/// stream the API sends without it (a client that reads <c>choices[0]</c> of every chunk would break on it): complete
/// lines go through as they come, and only a line not yet ended waits for its end. <paramref name="passed"/> is called once,
/// after the answer's first bytes have gone on to the agent.
/// </summary>
internal sealed class MeteredBody(Stream inner, UsageMeter meter, Stopwatch watch, int recordUpTo, bool hideUsageChunk = false, Action? passed = null)
    : Stream
{
    private RecyclableMemoryStream? _recorded;
    private byte[] _held = [];
    private int _heldLength;
    private bool _droppedEvent;
    private Action? _passed = passed;

    public long Bytes { get; private set; }
    public double? FirstByteMs { get; private set; }

    /// <summary>
    /// What was kept for the recording (the first <c>recordUpTo</c> bytes, in pooled blocks), handed over once: null when
    /// recording is off or nothing came. The taker gives the buffer back.
    /// </summary>
    public RecyclableMemoryStream? TakeRecorded()
    {
        var recorded = _recorded;
        _recorded = null;
        return recorded;
    }

    /// <summary>A recording nobody took goes back to the pool.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing) TakeRecorded()?.Dispose();
        base.Dispose(disposing);
    }

    private void Saw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return;
        FirstByteMs ??= watch.Elapsed.TotalMilliseconds;
        Bytes += bytes.Length;
        meter.Feed(bytes);
        if (recordUpTo > 0)
        {
            _recorded ??= Recordings.CallBodies.NewBuffer();
            var room = recordUpTo - (int)_recorded.Length;
            if (room > 0) _recorded.Write(bytes[..Math.Min(room, bytes.Length)]);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Saw(buffer.Span);
        if (hideUsageChunk) await WriteShownAsync(buffer, cancellationToken);
        else await inner.WriteAsync(buffer, cancellationToken);
        Passed();
    }

    private void Passed()
    {
        if (FirstByteMs is null || _passed is not { } passed) return;
        _passed = null;
        passed();
    }

    /// <summary>The end of the response: a last line that never ended goes to the agent as it is.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        if (_heldLength == 0) return;
        var held = _held.AsMemory(0, _heldLength);
        _heldLength = 0;
        try { await inner.WriteAsync(held, cancellationToken); } catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException) { }
    }

    /// <summary>Every line of <paramref name="buffer"/> but the usage chunk's (and the blank line that ends its event); a line not yet ended is held.</summary>
    private async ValueTask WriteShownAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        var pending = 0; // the start of the buffer's lines shown but not yet written
        var position = 0;
        while (position < buffer.Length)
        {
            var newline = buffer.Span[position..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                if (pending < position) await inner.WriteAsync(buffer[pending..position], cancellationToken);
                Hold(buffer.Span[position..]);
                return;
            }
            var end = position + newline + 1;
            if (_heldLength > 0)
            {
                // A line begun in an earlier write ends here.
                Hold(buffer.Span[position..end]);
                var line = _held.AsMemory(0, _heldLength);
                _heldLength = 0;
                if (Shown(line.Span)) await inner.WriteAsync(line, cancellationToken);
                pending = end;
            }
            else if (!Shown(buffer.Span[position..end]))
            {
                if (pending < position) await inner.WriteAsync(buffer[pending..position], cancellationToken);
                pending = end;
            }
            position = end;
        }
        if (pending < buffer.Length) await inner.WriteAsync(buffer[pending..], cancellationToken);
    }

    private void Hold(ReadOnlySpan<byte> bytes)
    {
        if (_heldLength + bytes.Length > _held.Length) Array.Resize(ref _held, Math.Max(_held.Length * 2, _heldLength + bytes.Length));
        bytes.CopyTo(_held.AsSpan(_heldLength));
        _heldLength += bytes.Length;
    }

    /// <summary>Whether the agent sees this line (with its newline): all but the usage chunk and the blank line after it.</summary>
    private bool Shown(ReadOnlySpan<byte> line)
    {
        var text = line.TrimEnd("\r\n"u8);
        if (_droppedEvent)
        {
            _droppedEvent = false;
            if (text.IsEmpty) return false;
        }
        if (!text.StartsWith("data:"u8) || text.IndexOf("\"usage\""u8) < 0 || text.IndexOf("\"usage\":null"u8) >= 0) return true;
        try
        {
            using var chunk = System.Text.Json.JsonDocument.Parse(text[5..].ToArray());
            var root = chunk.RootElement;
            var usageOnly = root.ValueKind == System.Text.Json.JsonValueKind.Object
                && root.TryGetProperty("choices", out var choices) && choices.ValueKind == System.Text.Json.JsonValueKind.Array && choices.GetArrayLength() == 0
                && root.TryGetProperty("usage", out var usage) && usage.ValueKind == System.Text.Json.JsonValueKind.Object;
            _droppedEvent = usageOnly;
            return !usageOnly;
        }
        catch (System.Text.Json.JsonException)
        {
            return true;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        if (hideUsageChunk)
        {
            WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
            return;
        }
        Saw(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
        Passed();
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
