using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Hive.Shared.Errors;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Socket;

/// <summary>
/// A connection's framing: newline-delimited requests read one line at a time (a line over <see cref="MaxLineBytes"/> is
/// answered with an error and skipped, and the connection stays usable), each handed to the dispatch, one reply line per
/// request, in order. A connection that sends no whole line within the idle timeout, or does not read its replies within
/// the write timeout, is closed.
/// </summary>
internal sealed class SocketLines(SocketDispatch dispatch, TimeSpan idleTimeout, TimeSpan writeTimeout, ILogger logger)
{
    public const int MaxLineBytes = AgentSocketServer.MaxLineBytes;

    /// <summary>Serves one connection until it closes, idles out, or <paramref name="ct"/> (its socket closing) ends it; disposes it.</summary>
    public async Task ServeAsync(string agent, System.Net.Sockets.Socket connection, CancellationToken ct)
    {
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        var reader = PipeReader.Create(stream);
        // Replies time out (an agent that does not read them is closed, not served into a full socket for ever) ...
        await using var replies = new ReplyStream(stream, writeTimeout, ct);
        // ... and so does waiting for a request: the next whole line must arrive within the idle timeout of the last
        // reply (bytes trickling in do not count), and no timer runs while a request is served (a parked recv included).
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(idleTimeout);
        using var closed = new CancellationTokenSource();
        var discarding = false; // inside an over-long line whose error was already sent
        try
        {
            while (true)
            {
                ReadResult read;
                try
                {
                    read = await reader.ReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    logger.LogInformation("closed an idle connection of {Agent}: no request for {Seconds} s", agent, idleTimeout.TotalSeconds);
                    break;
                }
                var buffer = read.Buffer;
                var served = false;
                while (TryTakeLine(ref buffer, out var line) || (read.IsCompleted && TryTakeRest(ref buffer, out line)))
                {
                    if (!served)
                    {
                        idle.CancelAfter(Timeout.InfiniteTimeSpan);
                        served = true;
                    }
                    if (discarding)
                    {
                        discarding = false;
                        continue;
                    }
                    if (line.Length > MaxLineBytes)
                        await ReplyAsync(replies, SocketReplies.Failure(new TooLargeException($"a request line is limited to {MaxLineBytes} bytes")), ct);
                    else
                        await dispatch.HandleLineAsync(agent, line, replies, connection, closed, ct);
                }
                if (served) idle.CancelAfter(idleTimeout);

                if (buffer.Length > MaxLineBytes)
                {
                    if (!discarding)
                        await ReplyAsync(replies, SocketReplies.Failure(new TooLargeException($"a request line is limited to {MaxLineBytes} bytes")), ct);
                    discarding = true;
                    buffer = buffer.Slice(buffer.End);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted) break;
            }
        }
        catch (ReplyTimeoutException)
        {
            logger.LogWarning("closed a connection of {Agent}: it did not read its replies for {Seconds} s", agent, writeTimeout.TotalSeconds);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            // The agent hung up, or its socket closed (the agent was removed or the host is stopping).
        }
        catch (Exception e)
        {
            logger.LogError(e, "a connection of {Agent} failed", agent);
        }
        finally
        {
            await closed.CancelAsync(); // what a verb tied to this connection (a granted turn) is let go
            await reader.CompleteAsync();
        }
    }

    /// <summary>A last request without its newline, sent just before the agent half-closed the socket.</summary>
    private static bool TryTakeRest(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        line = buffer;
        buffer = buffer.Slice(buffer.End);
        return line.Length > 0;
    }

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var end = buffer.PositionOf((byte)'\n');
        if (end is null)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, end.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, end.Value));
        return true;
    }

    /// <summary>The reply and its newline in one write: one syscall, one wake-up of the agent.</summary>
    public static async Task ReplyAsync(Stream stream, byte[] reply, CancellationToken ct) =>
        await stream.WriteAsync(WithNewline(reply), ct);

    public static byte[] WithNewline(byte[] reply)
    {
        var line = new byte[reply.Length + 1];
        reply.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        return line;
    }
}
