namespace Hive.Shared.Socket;

/// <summary>
/// The write side of an agent connection with a deadline: a reply that the kernel cannot take within the write timeout
/// (the agent is not reading, its socket buffers are full) throws <see cref="ReplyTimeoutException"/>, which closes the
/// connection, instead of pinning it (and its slot of the agent's 64) for ever. A write that completes at once, the
/// usual case, costs no timer.
/// </summary>
internal sealed class ReplyStream(Stream inner, TimeSpan timeout, CancellationToken closing) : Stream
{
    private readonly CancellationTokenSource _deadline = CancellationTokenSource.CreateLinkedTokenSource(closing);

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // The caller's token is the connection's closing token, which the deadline is linked to.
        var write = inner.WriteAsync(buffer, _deadline.Token);
        if (write.IsCompletedSuccessfully) return;
        _deadline.CancelAfter(timeout);
        try
        {
            await write;
        }
        catch (OperationCanceledException) when (!closing.IsCancellationRequested)
        {
            throw new ReplyTimeoutException(timeout);
        }
        _deadline.CancelAfter(Timeout.InfiniteTimeSpan);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("replies are written asynchronously");

    protected override void Dispose(bool disposing)
    {
        if (disposing) _deadline.Dispose();
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        _deadline.Dispose();
        return base.DisposeAsync();
    }
}

/// <summary>An agent did not read its replies within the write timeout; its connection is closed.</summary>
internal sealed class ReplyTimeoutException(TimeSpan timeout)
    : IOException($"the agent did not read its replies within {timeout.TotalSeconds} s");
