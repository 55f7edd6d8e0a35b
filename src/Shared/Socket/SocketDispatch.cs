using System.Buffers;
using System.Net.Sockets;
using System.Text.Json;
using Hive.Contracts.Protocol;
using Hive.Shared.Errors;
using Hive.Shared.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Socket;

/// <summary>
/// One request line to its reply: parses the JSON and its <c>op</c>, finds the verb in the <see cref="SocketVerbRegistry"/>,
/// runs it in a DI scope of its own (ended early when the agent hangs up), maps an error to <c>{"ok":false,...}</c>,
/// audits the manager's changing verbs, and writes the reply (a verb's undo runs if it cannot be written).
/// </summary>
internal sealed class SocketDispatch(
    SocketVerbRegistry verbs, IServiceScopeFactory scopes, Health.StorageHealth health, Audit.IAuditLog audit, TimeProvider clock, ILogger logger,
    IVerbCapture? capture = null)
{
    /// <summary>Handles one request and writes its reply; a verb's undo runs if the reply cannot be written.</summary>
    public async Task HandleLineAsync(string agent, ReadOnlySequence<byte> line, Stream stream, System.Net.Sockets.Socket connection,
        CancellationTokenSource closed, CancellationToken ct)
    {
        JsonDocument document;
        try
        {
            document = StrictJson.Parse(line); // duplicate keys and trailing data are bad_request too
        }
        catch (JsonException e)
        {
            await SocketLines.ReplyAsync(stream, SocketReplies.Failure(new BadRequestException($"the line is not valid JSON: {StrictJson.Reason(e)}")), ct);
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            string? name = null;
            try
            {
                if (root.ValueKind != JsonValueKind.Object) throw new BadRequestException("a request must be a JSON object");
                if (!root.TryGetProperty("op", out var op) || op.ValueKind != JsonValueKind.String)
                    throw new BadRequestException("a request needs a string 'op'");
                name = op.GetString()!; // throws on invalid UTF-8, answered below as bad_request
            }
            catch (Exception e) when (e is BadRequestException or InvalidOperationException)
            {
                await SocketLines.ReplyAsync(stream, SocketReplies.Failure(e as BadRequestException ?? new BadRequestException("'op' is not valid UTF-8")), ct);
                return;
            }
            if (!verbs.TryGet(name, out var handler))
            {
                await SocketLines.ReplyAsync(stream, SocketReplies.Failure(new BadRequestException($"unknown op {Truncate(name)}")), ct);
                return;
            }

            await using var scope = scopes.CreateAsyncScope();
            // A request ends early when its agent hangs up (a parked recv or turn watch has no one left to answer).
            using var served = CancellationTokenSource.CreateLinkedTokenSource(ct, closed.Token);
            var request = new SocketRequest(agent, root, scope.ServiceProvider, served.Token) { ConnectionClosed = closed.Token };
            byte[] reply;
            try
            {
                var handling = capture is not null && capture.Captures(agent) && AgentProtocol.Find(name) is { Reach: VerbReach.Hive } reaching
                    ? capture.CaptureAsync(agent, reaching, root, served.Token)
                    : handler(request);
                if (!handling.IsCompleted && !await AnsweredWithinAsync(handling, HangUpWatchAfter)) await WatchForHangUpAsync(connection, handling, closed);
                reply = SocketReplies.Success(await handling);
            }
            catch (Exception e) when (e is not OperationCanceledException || !served.IsCancellationRequested)
            {
                var error = HiveError.From(e);
                // A storage fault is logged by the health (once, naming the database); anything else unexpected here.
                if (error.IsServerFault && !health.Observe(e)) logger.LogError(e, "{Op} from {Agent} failed", name, agent);
                reply = SocketReplies.Failure(error);
            }

            if (agent == Agents.AgentNames.Manager && !ReadOnlyVerbs.Contains(name))
                audit.Record(new Audit.AuditEntry(clock.GetUtcNow(), agent, name, Target(root), SocketReplies.IsSuccess(reply) ? "ok" : ErrorCode(reply)));

            try
            {
                await SocketLines.ReplyAsync(stream, reply, ct);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // The agent is gone: whatever the verb handed out must not be lost with it.
                if (request.UndoIfUnreplied is { } undo)
                {
                    try { await undo(); }
                    catch (Exception undoError) { logger.LogError(undoError, "could not undo {Op} for {Agent} after a failed reply", name, agent); }
                }
                throw;
            }
        }
    }

    // Most requests answer within a millisecond or two (a send waits only for its group commit): a peek armed and cancelled
    // for each costs the send path a socket operation and a thread-pool hand-off, so the watch starts only for one still
    // unanswered after this; a hang-up during a parked request is seen that much later.
    private static readonly TimeSpan HangUpWatchAfter = TimeSpan.FromMilliseconds(50);

    private static async Task<bool> AnsweredWithinAsync(Task handling, TimeSpan grace)
    {
        using var timer = new CancellationTokenSource(grace);
        try
        {
            await handling.WaitAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !handling.IsCompleted)
        {
            return false;
        }
        catch
        {
            // the caller awaits it again and sees what it threw
        }
        return true;
    }

    /// <summary>
    /// While a request is parked the read loop waits for it, so a hang-up would go unseen until it answered (and a granted
    /// turn would keep its slot that long): peek at the socket meanwhile; a zero-byte read means the agent is gone. A peek
    /// that finds bytes (the agent pipelined its next request) ends the watch: those are read once the request answers.
    /// </summary>
    private static async Task WatchForHangUpAsync(System.Net.Sockets.Socket connection, Task handling, CancellationTokenSource closed)
    {
        using var answered = new CancellationTokenSource();
        var watch = WatchAsync();
        try
        {
            await handling;
        }
        catch
        {
            // the caller awaits it again and sees what it threw
        }
        finally
        {
            await answered.CancelAsync();
            await watch;
        }

        async Task WatchAsync()
        {
            try
            {
                if (await connection.ReceiveAsync(new byte[1], SocketFlags.Peek, answered.Token) == 0) await closed.CancelAsync();
            }
            catch (OperationCanceledException) { }
            catch (ObjectDisposedException) { }
            catch (SocketException)
            {
                await closed.CancelAsync();
            }
        }
    }

    /// <summary>The manager's verbs that change nothing (its waits and reads): every other verb of the manager is audited.</summary>
    private static readonly HashSet<string> ReadOnlyVerbs =
        new(["whoami", "recv", "ack", "list_agents", "begin_turn", "watch_turn", "record_turn", "count", "loose_ends"], StringComparer.Ordinal);

    /// <summary>The agent a verb is aimed at (<c>name</c> or <c>to</c>), for the audit log; never a body.</summary>
    private static string? Target(JsonElement root) =>
        (root.TryGetProperty("name", out var name) || root.TryGetProperty("to", out name)) && name.ValueKind == JsonValueKind.String
            ? Truncate(name.GetString()!)
            : null;

    private static string ErrorCode(byte[] reply)
    {
        try
        {
            using var document = JsonDocument.Parse(reply);
            return document.RootElement.TryGetProperty("code", out var code) ? code.GetString() ?? "error" : "error";
        }
        catch (JsonException)
        {
            return "error";
        }
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
