using System.Buffers;
using System.Net.Sockets;

namespace Hive.Features.Egress.Proxy;

/// <summary>
/// Both directions of a proxied connection, each copied as it arrives; the end of one is a half-close of the other side
/// (a client that has sent its request still reads the whole answer), and a failure on either side resets both (a cut
/// stream must not pass for a whole one). Bytes are counted each way. On Linux the bytes move by splice(2)
/// (<see cref="KernelSplice"/>) rather than through a buffer of this process.
/// </summary>
internal static class Splice
{
    private const int BufferBytes = 128 * 1024;

    /// <summary>A tunnel (CONNECT): everything both ways, until both sides have ended.</summary>
    /// <returns>The bytes copied from <paramref name="client"/> to <paramref name="upstream"/> (out) and back (in).</returns>
    public static Task<(long Out, long In)> TunnelAsync(Socket client, Socket upstream, CancellationToken cancellationToken) =>
        RunAsync(client, upstream, null, cancellationToken);

    /// <summary>
    /// One plain-http request's body (<paramref name="bodyLeft"/> more bytes) and its answer: what the client sends past
    /// the body is never passed on (a second request on this connection reaches no one), the answer's head goes with
    /// <c>Connection: close</c> and without hop-by-hop headers, and the connection ends with the answer.
    /// </summary>
    public static Task<(long Out, long In)> OneRequestAsync(Socket client, Socket upstream, long bodyLeft, CancellationToken cancellationToken) =>
        RunAsync(client, upstream, bodyLeft, cancellationToken);

    private static async Task<(long Out, long In)> RunAsync(Socket client, Socket upstream, long? bodyLeft, CancellationToken cancellationToken)
    {
        var counts = new long[2];
        await using (cancellationToken.Register(() => { Abort(client); Abort(upstream); }))
        {
            var outward = PumpAsync(client, upstream, counts, 0, rewriteHead: false, limit: bodyLeft);
            var inward = PumpAsync(upstream, client, counts, 1, rewriteHead: bodyLeft is not null, limit: null);
            if (bodyLeft is not null)
            {
                await inward;
                client.Dispose(); // the answer has been passed on whole; the client is done reading
                upstream.Dispose();
            }
            await Task.WhenAll(outward, inward);
        }
        return (Interlocked.Read(ref counts[0]), Interlocked.Read(ref counts[1]));
    }

    /// <param name="limit">At most this many bytes are passed on; the rest is read and dropped until <paramref name="from"/> ends. Null: all.</param>
    /// <remarks>
    /// The bytes go by <see cref="KernelSplice"/> where it can be used, never through this process (the answer's head
    /// alone, which is rewritten, is read in); else, and for what is dropped, by a copy loop.
    /// </remarks>
    private static async Task PumpAsync(Socket from, Socket to, long[] counts, int slot, bool rewriteHead, long? limit)
    {
        byte[]? buffer = null;
        var left = limit ?? long.MaxValue;
        try
        {
            if (rewriteHead)
            {
                buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
                if (!await PassHeadAsync(from, to, buffer, counts, slot)) return;
            }
            if (left > 0 && KernelSplice.Usable(from, to))
            {
                if (await KernelSplice.MoveAsync(from, to, left, moved => Interlocked.Add(ref counts[slot], moved)))
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                left = 0;
            }
            buffer ??= ArrayPool<byte>.Shared.Rent(BufferBytes);
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0) break;
                var passed = (int)Math.Min(read, left);
                if (passed == 0) continue;
                left -= passed;
                Interlocked.Add(ref counts[slot], passed);
                await SendAllAsync(to, buffer.AsMemory(0, passed));
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Abort(from);
            Abort(to);
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads the answer's head (it must fit the buffer) and sends it on rewritten (<see cref="ProxyHead.ResponseToClient"/>)
    /// with what followed it; false when the upstream ended or failed before a whole head (both sides are then closed).
    /// </summary>
    private static async Task<bool> PassHeadAsync(Socket from, Socket to, byte[] buffer, long[] counts, int slot)
    {
        var filled = 0;
        while (true)
        {
            var read = await from.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
            if (read == 0) break;
            Interlocked.Add(ref counts[slot], read);
            filled += read;
            var end = ProxyHead.EndOf(buffer.AsSpan(0, filled));
            if (end >= 0)
            {
                await SendAllAsync(to, ProxyHead.ResponseToClient(buffer.AsSpan(0, end)));
                await SendAllAsync(to, buffer.AsMemory(end, filled - end));
                return true;
            }
            if (filled == buffer.Length) break;
        }
        Abort(from);
        Abort(to);
        return false;
    }

    public static async Task SendAllAsync(Socket to, ReadOnlyMemory<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            var sent = await to.SendAsync(bytes, SocketFlags.None);
            bytes = bytes[sent..];
        }
    }

    public static void Abort(Socket socket)
    {
        try
        {
            socket.Close(0); // a reset, not a clean end
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
