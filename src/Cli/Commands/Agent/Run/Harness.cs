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
internal sealed class Harness(string socketPath, int max, string[] argv)
{
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
            var turn = await RunCommandAsync(messages, slot);
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
    private sealed record Turn(DateTimeOffset Started, DateTimeOffset Ended, int Exit, StreamJson Stream, TurnStop? Stopped);

    private async Task<Turn> RunCommandAsync(List<JsonObject> messages, TurnSlot? slot)
    {
        var started = DateTimeOffset.UtcNow;
        var stream = new StreamJson();
        TurnStop? stopped = null;
        int exit;
        try
        {
            using var command = CommandProcess.Start(argv, new Dictionary<string, string>
            {
                ["HIVE_SOCKET"] = socketPath,
                ["HIVE_WAKE"] = Wake.Text(messages),
            });
            var process = command.Process;
            var reading = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync() is { } line)
                {
                    Console.Out.WriteLine(line);
                    stream.Read(line);
                }
            });
            // Written while waiting for the exit: a COMMAND that exits without reading all of it ends the turn as it
            // exits, instead of leaving the harness blocked on a full pipe.
            var writing = Wake.WriteAsync(process.StandardInput, messages);
            var exited = process.WaitForExitAsync();
            var watching = slot?.WatchAsync(Log) ?? new TaskCompletionSource<TurnStop?>().Task;
            if (await Task.WhenAny(exited, watching) == watching && await watching is { } stop && !process.HasExited)
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
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Log.WriteLine($"hivectl run: {argv[0]} could not run: {e.Message}");
            exit = -1;
        }
        return new Turn(started, DateTimeOffset.UtcNow, exit, stream, stopped);
    }

    /// <summary>
    /// After COMMAND: acknowledge the messages (only when it exited 0, was not stopped and hit no usage limit: else they come
    /// back), report a usage limit, and record the turn, which ends it. A turn the hive had ended already (its grace
    /// passed) is recorded without its id, so that its spend still counts.
    /// </summary>
    private async Task FinishAsync(List<JsonObject> messages, Turn turn, long? turnId)
    {
        var stream = turn.Stream;
        DateTimeOffset? until = null;
        var limited = stream.IsError && UsageLimit.TryRead(stream.ResultText, DateTimeOffset.UtcNow, out until);
        var handled = turn.Exit == 0 && turn.Stopped is null && !limited;
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
        var note = limited ? "usage limit"
            : turn.Stopped is { } stop ? $"stopped ({stop.Reason}), exit code {turn.Exit}"
            : turn.Exit == 0 ? null : $"exit code {turn.Exit}";
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
            if (turnId is { } id)
            {
                try
                {
                    await _socket!.CallAsync("record_turn", WithTurnId(record, id));
                    return;
                }
                catch (CliError e) when (e.Code is "conflict" or "not_found")
                {
                    Log.WriteLine($"hivectl run: turn {id} was over before it was recorded ({e.Message}): recording its spend alone");
                }
            }
            await _socket!.CallAsync("record_turn", record);
        }
        catch (CliError e)
        {
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
