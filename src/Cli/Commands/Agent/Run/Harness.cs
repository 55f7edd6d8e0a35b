using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>
/// The loop of <c>hivectl run</c>: park on <c>recv</c>; on a wake, get a turn (<see cref="TurnSlot"/>), run COMMAND once
/// with the messages (<see cref="CommandProcess"/>), stop it when the hive revokes the turn, then acknowledge (exit 0
/// only), report a usage limit (<c>quota_hit</c>) and record the turn, which ends it. SIGTERM or SIGINT gives up a wait
/// (for messages or for a turn) but never a running COMMAND: that turn finishes and is recorded first. One run of COMMAND
/// is <see cref="CommandRun"/>; what follows it, <see cref="TurnRecord"/>.
/// </summary>
internal sealed class Harness(string socketPath, int max, string[] argv, HarnessOptions options)
{
    /// <summary>What the harness itself says (host sentences included), terminal-safe; COMMAND's stdout is echoed as it is.</summary>
    private static readonly TextWriter Log = new TerminalWriter(Console.Error);

    private readonly CancellationTokenSource _stop = new();

    private readonly CommandRun _command = new(socketPath, argv, options, Log);

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
            CommandRun.Outcome turn;
            await using (var transcript = new TranscriptForwarder(socketPath, Log))
            {
                turn = await ConversationTurnAsync(messages, slot, conversation, transcript);
                // A context above the watermark: the next turn compacts first (kept on the hive, so a restart keeps it).
                if (options.CompactAt > 0 && turn.Stream.ContextTokens > options.CompactAt && turn.Stopped is null)
                {
                    Log.WriteLine($"hivectl run: the context ended at {turn.Stream.ContextTokens} tokens, above --compact-at {options.CompactAt}: the next turn compacts first");
                    transcript.CompactNext();
                }
            }
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

    /// <summary>
    /// The turn in the conversation: a compaction first when asked (the operator's <c>/compact</c> or the watermark), then
    /// COMMAND with the messages; a "prompt is too long" result compacts and runs them once more.
    /// </summary>
    private async Task<CommandRun.Outcome> ConversationTurnAsync(List<JsonObject> messages, TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript)
    {
        var session = conversation.SessionId;
        if (conversation.Compact && session is not null)
            session = await CompactAsync(slot, conversation with { SessionId = session }, transcript, "asked") ?? session;
        var turn = await _command.RunAsync(messages, slot, conversation with { SessionId = session }, transcript, compact: false);
        if (options.Claude && session is not null && turn.Exit != 0 && turn.Stopped is null && turn.Stream.SessionId is null)
        {
            // Claude Code names its session first thing; failing before that on --resume is most likely a session it no
            // longer has (its HOME was wiped, the agent rebuilt): resuming it again would fail every turn the same way.
            Log.WriteLine($"hivectl run: COMMAND failed on --resume {session} before naming a session: the next turn starts a fresh conversation");
            transcript.Forget(session);
            return turn;
        }
        if (!turn.Stream.PromptTooLong || turn.Stopped is not null) return turn;

        session = turn.Stream.SessionId ?? session;
        if (session is null) return turn with { Note = "prompt too long, and no session to compact" };
        session = await CompactAsync(slot, conversation with { SessionId = session }, transcript, "the prompt was too long") ?? session;
        var retry = await _command.RunAsync(messages, slot, conversation with { SessionId = session }, transcript, compact: false);
        return retry with { Started = turn.Started, Note = "prompt too long: compacted and retried once" };
    }

    /// <summary>One compaction pass of COMMAND on the session; the session it continues in (null when it named none).</summary>
    private async Task<string?> CompactAsync(TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript, string why)
    {
        Log.WriteLine($"hivectl run: compacting the conversation ({why})");
        transcript.Add([new TranscriptEntry("system", $"compacting the conversation ({why})")]);
        var pass = await _command.RunAsync([], slot, conversation, transcript, compact: true);
        if (pass.Exit != 0 || pass.Stream.IsError) Log.WriteLine($"hivectl run: the compaction failed (exit {pass.Exit}): going on");
        return pass.Stream.SessionId;
    }
}


/// <summary>What the hive says of a turn's conversation: the session to resume, the model, a compaction first, a fresh start.</summary>
internal sealed record Conversation(string? SessionId, string? Model, bool Compact, bool Clear);

/// <summary><c>hivectl run</c>'s conversation options: Claude Code's flags on argv, the compaction watermark in tokens (0: none).</summary>
internal sealed record HarnessOptions(bool Claude, long CompactAt);
