using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>
/// The loop of <c>hivectl run</c>: park on <c>recv</c>; on a wake, get a turn (<see cref="TurnSlot"/>), have the agent
/// take the messages (<see cref="ITurnRunner"/>: COMMAND once, <see cref="CommandTurns"/>, or a prompt to an ACP agent,
/// <c>AcpTurns</c>), stopped when the hive revokes the turn, then acknowledge (handled only), report a usage
/// limit (<c>quota_hit</c>) and record the turn, which ends it. SIGTERM or SIGINT gives up a wait (for messages or for a
/// turn) but never a running turn: it finishes and is recorded first. What follows a turn: <see cref="TurnRecord"/>.
/// </summary>
internal sealed class Harness(string socketPath, int max, Func<TextWriter, ITurnRunner> runner)
{
    /// <summary>What the harness itself says (host sentences included), terminal-safe; COMMAND's stdout is echoed as it is.</summary>
    private static readonly TextWriter Log = new TerminalWriter(Console.Error);

    private readonly CancellationTokenSource _stop = new();

    /// <summary>What runs a turn: COMMAND once per wake, or an ACP agent kept between wakes.</summary>
    private readonly ITurnRunner _runner = runner(Log);

    /// <summary>The ordinary connection: <c>recv</c>, <c>ack</c>, <c>quota_hit</c>, <c>record_turn</c>.</summary>
    private HiveSocketClient? _socket;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stop.Token);
        try
        {
            _socket = await HiveSocketClient.ConnectAsync(socketPath, linked.Token);
            while (!linked.IsCancellationRequested)
            {
                JsonObject reply;
                try
                {
                    // A parked recv cancelled by a stop closes the connection: the host returns what it had taken.
                    reply = await _socket.CallAsync("recv", new JsonObject { ["wait_ms"] = AgentCommands.MaxWaitMs, ["max"] = max }, linked.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                var messages = reply["messages"] is JsonArray batch ? batch.OfType<JsonObject>().ToList()
                    : reply["message"] is JsonObject one ? [one] : [];
                if (messages.Count > 0) await TurnAsync(messages, linked.Token); // a stop waits for a running COMMAND
            }
            return 0;
        }
        catch (CliError e)
        {
            Log.WriteLine($"hivectl: {e.Code}: {e.Message}");
            return CommandRunner.Failed;
        }
        finally
        {
            if (_socket is not null) await _socket.DisposeAsync();
            await _runner.DisposeAsync();
        }
    }

    private void Stop(PosixSignalContext context)
    {
        context.Cancel = true; // not the default termination: the current turn finishes first
        _stop.Cancel();
    }

    private async Task TurnAsync(List<JsonObject> messages, CancellationToken stop)
    {
        TurnSlot? slot;
        try
        {
            slot = await TurnSlot.BeginAsync(socketPath, Log, stop);
        }
        catch (OperationCanceledException)
        {
            Log.WriteLine($"hivectl run: stopped while waiting for a turn: {messages.Count} message(s) not handled, they come back");
            return;
        }
        await using (slot)
        {
            var conversation = await ConversationAsync();
            var taken = messages;
            if (slot?.Handoff is { } handoff)
            {
                // Another model from now: the conversation the last one wrote is not resumed (nor sent), the brief comes first.
                conversation = conversation with { SessionId = null, Compact = false, Clear = true };
                taken = [Handoff.Message(handoff), .. messages];
            }
            TurnOutcome turn;
            await using (var transcript = new TranscriptForwarder(socketPath, Log))
                turn = await _runner.TurnAsync(taken, slot, conversation, transcript);
            // The ordinary connection sat idle while the turn waited and ran, and the hive closes idle connections: a fresh
            // one carries what follows. The turn's own connection stays open until the turn is recorded (closing it first
            // would end the turn unrecorded).
            await _socket!.DisposeAsync();
            _socket = null;
            _socket = await HiveSocketClient.ConnectAsync(socketPath);
            await TurnRecord.FinishAsync(_socket, Log, messages, turn, slot?.Id);
        }
    }

    /// <summary>
    /// The hive's word on this turn's conversation (<c>conversation</c>: the session to resume, the model, the operator's
    /// <c>/compact</c> and <c>/clear</c>, taken). A hive older than conversations (unknown op) or a failure: none.
    /// </summary>
    private async Task<Conversation> ConversationAsync()
    {
        try
        {
            await using var connection = await HiveSocketClient.ConnectAsync(socketPath);
            var reply = await connection.CallAsync("conversation");
            var conversation = new Conversation(Text.Str(reply, "session_id"), Text.Str(reply, "model"),
                reply["compact"]?.GetValue<bool>() == true, reply["clear"]?.GetValue<bool>() == true);
            if (conversation.Clear) Log.WriteLine("hivectl run: /clear: this turn starts a fresh conversation");
            return conversation;
        }
        catch (CliError e)
        {
            Log.WriteLine($"hivectl run: no conversation from the hive ({e.Code}: {e.Message}): COMMAND starts afresh");
            return new Conversation(null, null, false, false);
        }
    }
}

/// <summary>The hive's handoff as the turn's first message: from <c>hive</c>, the brief as its body (it has no id: nothing to acknowledge).</summary>
internal static class Handoff
{
    public static JsonObject Message(JsonObject handoff) => new()
    {
        ["from"] = "hive",
        ["kind"] = "handoff",
        ["body"] = Text.Str(handoff, "brief") ?? "",
        ["extra"] = new JsonObject { ["from"] = Text.Str(handoff, "from"), ["to"] = Text.Str(handoff, "to"), ["reason"] = Text.Str(handoff, "reason") },
    };
}

/// <summary>What the hive says of a turn's conversation: the session to resume, the model, a compaction first, a fresh start.</summary>
internal sealed record Conversation(string? SessionId, string? Model, bool Compact, bool Clear);

/// <summary><c>hivectl run</c>'s conversation options: Claude Code's flags on argv, the compaction watermark in tokens (0: none).</summary>
internal sealed record HarnessOptions(bool Claude, long CompactAt);
