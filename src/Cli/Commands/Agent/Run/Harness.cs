using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>
/// The loop of <c>hivectl run</c>: park on <c>recv</c>; on a wake, get a turn (<see cref="TurnSlot"/>), run COMMAND once
/// with the messages (<see cref="CommandProcess"/>), stop it when the hive revokes the turn, then acknowledge (exit 0
/// only), report a usage limit (<c>quota_hit</c>) and record the turn, which ends it. SIGTERM or SIGINT gives up a wait
/// (for messages or for a turn) but never a running COMMAND: that turn finishes and is recorded first.
/// </summary>
internal sealed class Harness(string socketPath, int max, string[] argv, HarnessOptions options)
{
    /// <summary>
    /// What a compaction pass gives COMMAND (Claude Code's <c>/compact</c> with instructions): a checkpoint of what matters
    /// survives the summary.
    /// </summary>
    public const string CompactPrompt =
        "/compact Checkpoint before compacting: keep what you are working on and why, what you promised to whom, the open " +
        "threads and questions, and where your notes and files are; drop the rest.";

    /// <summary>What the harness itself says (host sentences included), terminal-safe; COMMAND's stdout is echoed as it is.</summary>
    private static readonly TextWriter Log = new TerminalWriter(Console.Error);

    private readonly CancellationTokenSource _stop = new();

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
            Turn turn;
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
            await FinishAsync(messages, turn, slot?.Id);
        }
    }

    /// <summary>How one run of COMMAND went.</summary>
    private sealed record Turn(DateTimeOffset Started, DateTimeOffset Ended, int Exit, StreamJson Stream, TurnStop? Stopped, string? Note = null,
        string? HiveToolsMissing = null);

    /// <summary>
    /// Whether COMMAND must show the hive's MCP server connected: Claude Code (<c>--claude</c>) given an
    /// <c>--mcp-config</c>, as the preset runs it. Claude Code connects MCP servers asynchronously and goes on without one
    /// that is late; a turn without the hive's tools cannot reply to anyone, so it must not count as handled.
    /// </summary>
    private bool ExpectsHiveServer => options.Claude && argv.Contains("--mcp-config");

    /// <summary>How long Claude Code gets to end after SIGTERM when the hive's tools are missing, before SIGKILL.</summary>
    private static readonly TimeSpan MissingToolsGrace = TimeSpan.FromSeconds(2);

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
    private async Task<Turn> ConversationTurnAsync(List<JsonObject> messages, TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript)
    {
        var session = conversation.SessionId;
        if (conversation.Compact && session is not null)
            session = await CompactAsync(slot, conversation with { SessionId = session }, transcript, "asked") ?? session;
        var turn = await RunCommandAsync(messages, slot, conversation with { SessionId = session }, transcript, compact: false);
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
        var retry = await RunCommandAsync(messages, slot, conversation with { SessionId = session }, transcript, compact: false);
        return retry with { Started = turn.Started, Note = "prompt too long: compacted and retried once" };
    }

    /// <summary>One compaction pass of COMMAND on the session; the session it continues in (null when it named none).</summary>
    private async Task<string?> CompactAsync(TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript, string why)
    {
        Log.WriteLine($"hivectl run: compacting the conversation ({why})");
        transcript.Add([new TranscriptEntry("system", $"compacting the conversation ({why})")]);
        var pass = await RunCommandAsync([], slot, conversation, transcript, compact: true);
        if (pass.Exit != 0 || pass.Stream.IsError) Log.WriteLine($"hivectl run: the compaction failed (exit {pass.Exit}): going on");
        return pass.Stream.SessionId;
    }

    /// <summary>
    /// COMMAND's argv for this run. With <c>--claude</c>, Claude Code's flags are appended (<c>--resume ID</c>,
    /// <c>--model NAME</c>), and a compaction pass replaces <c>-p</c>'s prompt by <see cref="CompactPrompt"/>. Without it,
    /// argv is as given and a wrapper reads <c>$HIVE_SESSION_ID</c>, <c>$HIVE_MODEL</c>, <c>$HIVE_COMPACT</c>.
    /// </summary>
    private (string[] Argv, bool PromptInArgv) CommandLine(Conversation conversation, bool compact)
    {
        if (!options.Claude) return (argv, false);
        var line = argv.ToList();
        var prompted = false;
        if (compact)
        {
            var p = line.FindIndex(a => a is "-p" or "--print");
            if (p >= 0 && p + 1 < line.Count && !line[p + 1].StartsWith('-'))
            {
                line[p + 1] = CompactPrompt;
                prompted = true;
            }
        }
        if (conversation.SessionId is { } session) line.AddRange(["--resume", session]);
        if (conversation.Model is { } model) line.AddRange(["--model", model]);
        return (line.ToArray(), prompted);
    }

    private async Task<Turn> RunCommandAsync(List<JsonObject> messages, TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript, bool compact)
    {
        var started = DateTimeOffset.UtcNow;
        var stream = new StreamJson();
        TurnStop? stopped = null;
        string? missing = null;
        int exit;
        var (commandLine, promptInArgv) = CommandLine(conversation, compact);
        try
        {
            var environment = new Dictionary<string, string>
            {
                ["HIVE_SOCKET"] = socketPath,
                ["HIVE_WAKE"] = compact ? "Compact the conversation: the instruction is on stdin." : Wake.Text(messages),
                ["HIVE_SESSION_ID"] = conversation.SessionId ?? "",
                ["HIVE_MODEL"] = conversation.Model ?? "",
                ["HIVE_COMPACT"] = compact ? "1" : "",
            };
            using var command = CommandProcess.Start(commandLine, environment);
            var process = command.Process;
            var toolsLost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var reading = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync() is { } line)
                {
                    Console.Out.WriteLine(line);
                    transcript.Add(stream.Read(line));
                    transcript.Session(stream.SessionId); // at once: a crash later in the turn still resumes it
                    if (ExpectsHiveServer && stream.HiveServerStatus is { } status && !stream.HiveServerConnected) toolsLost.TrySetResult(status);
                }
            });
            // Written while waiting for the exit: a COMMAND that exits without reading all of it ends the turn as it
            // exits, instead of leaving the harness blocked on a full pipe.
            var writing = !compact ? Wake.WriteAsync(process.StandardInput, messages)
                : Wake.WriteTextAsync(process.StandardInput, promptInArgv ? "" : CompactPrompt);
            var exited = process.WaitForExitAsync();
            var watching = slot?.WatchAsync(Log) ?? new TaskCompletionSource<TurnStop?>().Task;
            var first = await Task.WhenAny(exited, watching, toolsLost.Task);
            if (first == toolsLost.Task && !process.HasExited)
            {
                // The init line comes before the model is asked: stopping now keeps the model from working without the
                // hive's tools (and from spending on it); what it did anyway is not acknowledged either way.
                missing = await toolsLost.Task;
                Log.WriteLine($"hivectl run: the hive's MCP server was not connected ({missing}): SIGTERM to COMMAND's process group");
                await command.StopAsync(MissingToolsGrace);
            }
            else if (first == watching && await watching is { } stop && !process.HasExited)
            {
                Log.WriteLine($"hivectl run: the hive stops turn {slot!.Id} ({stop.Reason}): SIGTERM to COMMAND's process group, " +
                              $"SIGKILL if anything of it is left within {stop.Grace.TotalMilliseconds:0} ms");
                await command.StopAsync(stop.Grace);
                stopped = stop;
            }
            await exited;
            await writing;
            await reading;
            exit = process.ExitCode;
            if (ExpectsHiveServer && !stream.HiveServerConnected && stopped is null)
                missing ??= stream.HiveServerStatus ?? "no init line from Claude Code";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Log.WriteLine($"hivectl run: {argv[0]} could not run: {e.Message}");
            exit = -1;
        }
        return new Turn(started, DateTimeOffset.UtcNow, exit, stream, stopped, HiveToolsMissing: missing);
    }

    /// <summary>
    /// After COMMAND: acknowledge the messages (only when it exited 0, was not stopped and hit no usage limit: else they come
    /// back), report a usage limit, and record the turn, which ends it. A turn the hive ended first (its grace passed) is
    /// still recorded, late, so that its spend counts.
    /// </summary>
    private async Task FinishAsync(List<JsonObject> messages, Turn turn, long? turnId)
    {
        var stream = turn.Stream;
        DateTimeOffset? until = null;
        var limited = stream.IsError && UsageLimit.TryRead(stream.ResultText, DateTimeOffset.UtcNow, out until);
        // A turn without the hive's tools is not acknowledged: its messages come back flagged redelivered after the ack
        // timeout, which is the backoff before the next try (a MCP server that failed to start under load often starts
        // next time); the model had no way to reply, so counting it done would lose them silently.
        var handled = turn.Exit == 0 && turn.Stopped is null && !limited && turn.HiveToolsMissing is null;
        if (handled)
            foreach (var message in messages)
            {
                try
                {
                    await _socket!.CallAsync("ack", new JsonObject { ["id"] = message["id"]?.GetValue<long>() });
                }
                catch (CliError e) when (e.Code != "unavailable")
                {
                    Log.WriteLine($"hivectl run: message {message["id"]} was not acknowledged: {e.Code}: {e.Message}");
                }
            }
        if (limited) await QuotaHitAsync(until);

        var kind = handled && !stream.IsError ? "ok" : stream.PromptTooLong ? "prompt_too_long" : "failed";
        var note = turn.HiveToolsMissing is { } status ? $"the hive's MCP server was not connected: {status}"
            : limited ? "usage limit"
            : turn.Stopped is { } stop ? $"stopped ({stop.Reason}), exit code {turn.Exit}"
            : turn.Exit == 0 ? turn.Note : $"exit code {turn.Exit}";
        var record = new JsonObject
        {
            ["model"] = stream.Model,
            ["wake_from"] = string.Join(",", messages.Select(m => m["from"]?.GetValue<string>()).Distinct()),
            ["result_kind"] = kind,
            ["started_at"] = turn.Started.ToString("O", CultureInfo.InvariantCulture),
            ["ended_at"] = turn.Ended.ToString("O", CultureInfo.InvariantCulture),
            ["input_tokens"] = stream.InputTokens, ["output_tokens"] = stream.OutputTokens,
            ["cache_read_tokens"] = stream.CacheReadTokens, ["cache_creation_tokens"] = stream.CacheCreationTokens,
            ["cost_usd"] = stream.CostUsd,
            ["tools"] = new JsonObject(stream.Tools.Select(t => KeyValuePair.Create(t.Key, (JsonNode?)t.Value))),
            ["note"] = note,
        };
        await RecordAsync(record, turnId);

        var outcome = handled ? ", acknowledged"
            : limited ? ", usage limit: not acknowledged, they come back"
            : turn.Stopped is not null ? $", stopped, exit {turn.Exit}: not acknowledged, they come back"
            : turn.HiveToolsMissing is not null ? ", without the hive's tools: not acknowledged, they come back"
            : $", exit {turn.Exit}: not acknowledged, they come back";
        Log.WriteLine($"hivectl run: turn of {messages.Count} message(s): {kind} in {(turn.Ended - turn.Started).TotalMilliseconds:0} ms{outcome}");
    }

    private async Task QuotaHitAsync(DateTimeOffset? until)
    {
        var fields = new JsonObject();
        if (until is { } at) fields["until"] = at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        try
        {
            var reply = await _socket!.CallAsync("quota_hit", fields);
            Log.WriteLine($"hivectl run: usage limit: {Text.Str(reply, "provider")} held until {Text.Str(reply, "until")}");
        }
        catch (CliError e)
        {
            Log.WriteLine($"hivectl run: the usage limit was not reported: {e.Code}: {e.Message}");
        }
    }

    private async Task RecordAsync(JsonObject record, long? turnId)
    {
        try
        {
            await _socket!.CallAsync("record_turn", turnId is { } id ? WithTurnId(record, id) : record);
        }
        catch (CliError e)
        {
            // Refused whole (a turn is recorded once, as the turn the hive granted, #43): said here, nothing to retry.
            Log.WriteLine($"hivectl run: the turn was not recorded: {e.Code}: {e.Message}");
        }
    }

    private static JsonObject WithTurnId(JsonObject record, long id)
    {
        var fields = (JsonObject)record.DeepClone();
        fields["turn_id"] = id;
        return fields;
    }
}

/// <summary>What the hive says of a turn's conversation: the session to resume, the model, a compaction first, a fresh start.</summary>
internal sealed record Conversation(string? SessionId, string? Model, bool Compact, bool Clear);

/// <summary><c>hivectl run</c>'s conversation options: Claude Code's flags on argv, the compaction watermark in tokens (0: none).</summary>
internal sealed record HarnessOptions(bool Claude, long CompactAt);
