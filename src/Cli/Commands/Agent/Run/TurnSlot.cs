using System.Globalization;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>The hive revokes a running turn: COMMAND must be stopped within <see cref="Grace"/>.</summary>
internal sealed record TurnStop(string Reason, TimeSpan Grace);

/// <summary>
/// A turn the hive granted (<c>begin_turn</c>), held on a socket connection of its own: the turn belongs to the
/// connection that began it, so closing it (disposing this, or the harness dying) ends the turn and frees its slot. While
/// COMMAND runs, <see cref="WatchAsync"/> parks <c>watch_turn</c> on the same connection, which also keeps the connection
/// from the host's idle timeout. The turn is recorded (<c>record_turn</c> with <see cref="Id"/>) on the harness's other
/// connection before this one is closed.
/// </summary>
internal sealed class TurnSlot : IAsyncDisposable
{
    private readonly HiveSocketClient _connection;
    private readonly CancellationTokenSource _closing = new();
    private Task? _watching;

    private TurnSlot(HiveSocketClient connection, long id, JsonObject? handoff)
    {
        _connection = connection;
        Id = id;
        Handoff = handoff;
    }

    public long Id { get; }

    /// <summary>
    /// The hive's <c>handoff</c> when this turn runs on another provider of the agent's chain than its last: the turn starts
    /// a fresh conversation with its brief first (<see cref="Harness"/>); null otherwise.
    /// </summary>
    public JsonObject? Handoff { get; }

    /// <summary>
    /// Asks for a turn until one is granted: <c>begin_turn</c> parks up to 30 s at a time and answers <c>held</c> (a
    /// reason, perhaps an until) when none was; each change of reason is one line on <paramref name="log"/>. A
    /// <c>conflict</c> (this agent has a turn running elsewhere) is waited out the same way. Null when the hive grants no
    /// turns (one older than governance: <c>unknown op</c>). Cancelling <paramref name="ct"/> gives up the wait and closes
    /// the connection, which gives up the place in the queue too.
    /// </summary>
    public static async Task<TurnSlot?> BeginAsync(string socketPath, TextWriter log, CancellationToken ct)
    {
        var connection = await HiveSocketClient.ConnectAsync(socketPath, ct);
        try
        {
            string? said = null;
            var heldSince = DateTimeOffset.UtcNow;
            while (true)
            {
                JsonObject reply;
                try
                {
                    reply = await connection.CallAsync("begin_turn", new JsonObject { ["wait_ms"] = AgentCommands.MaxWaitMs }, ct);
                }
                catch (CliError e) when (e.Code == "bad_request" && e.Message.StartsWith("unknown op", StringComparison.Ordinal))
                {
                    log.WriteLine("hivectl run: this hive grants no turns (it does not know begin_turn): COMMAND runs ungoverned");
                    await connection.DisposeAsync();
                    return null;
                }
                catch (CliError e) when (e.Code == "conflict")
                {
                    if (said != "conflict") log.WriteLine($"hivectl run: no turn yet: {e.Message}; asking again");
                    said = "conflict";
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                    continue;
                }
                if (reply["turn_id"] is JsonValue id)
                {
                    if (said is not null) log.WriteLine($"hivectl run: turn {id} granted after {Text.Age(DateTimeOffset.UtcNow - heldSince)} held");
                    var handoff = reply["handoff"] as JsonObject;
                    if (handoff is not null)
                        log.WriteLine($"hivectl run: turn {id} runs on {Text.Str(handoff, "to")}, not {Text.Str(handoff, "from")} ({Text.Str(handoff, "reason")}): a fresh conversation, the hive's brief first");
                    return new TurnSlot(connection, id.GetValue<long>(), handoff);
                }
                if (reply["held"] is not JsonObject held) throw new CliError("bad_reply", "begin_turn answered neither turn_id nor held");
                var reason = Text.Str(held, "reason") ?? "held";
                var until = Text.Str(held, "until");
                var line = until is null ? reason : $"{reason} until {until}";
                if (line != said) log.WriteLine($"hivectl run: held ({line})");
                said = line;
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Parks <c>watch_turn</c> until the hive revokes the turn (<c>stop</c>: halted, paused, max_turn_minutes) or ends it
    /// (<c>ended</c> while COMMAND still runs: its slot is gone, so COMMAND is stopped at once). Null when the watch ends
    /// without either: the connection was lost (the hive ends the turn itself), or this slot is being closed.
    /// </summary>
    public Task<TurnStop?> WatchAsync(TextWriter log)
    {
        var watching = WatchLoopAsync(log);
        _watching = watching;
        return watching;
    }

    private async Task<TurnStop?> WatchLoopAsync(TextWriter log)
    {
        try
        {
            while (true)
            {
                var reply = await _connection.CallAsync("watch_turn", new JsonObject { ["turn_id"] = Id, ["wait_ms"] = AgentCommands.MaxWaitMs }, _closing.Token);
                switch (Text.Str(reply, "state"))
                {
                    case "stop":
                        var graceMs = reply["grace_ms"] is JsonValue g && g.TryGetValue<double>(out var ms) && ms >= 0 ? ms : 0;
                        return new TurnStop(Text.Str(reply, "reason") ?? "stop", TimeSpan.FromMilliseconds(graceMs));
                    case "ended":
                        return new TurnStop($"turn ended: {Text.Str(reply, "reason") ?? "?"}", TimeSpan.Zero);
                }
            }
        }
        catch (Exception) when (_closing.IsCancellationRequested)
        {
            return null; // closed by DisposeAsync: the turn is over
        }
        catch (Exception e)
        {
            var why = e is CliError error ? $"{error.Code}: {error.Message}" : e.Message;
            log.WriteLine($"hivectl run: lost the watch on turn {Id.ToString(CultureInfo.InvariantCulture)}: {why}");
            return null;
        }
    }

    /// <summary>Ends the watch and closes the connection: the turn ends with it, if <c>record_turn</c> has not ended it already.</summary>
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        if (_watching is not null) await Task.WhenAny(_watching, Task.Delay(TimeSpan.FromSeconds(1))); // a parked read ends at the cancel, or at the close below
        await _connection.DisposeAsync();
        if (_watching is not null) await _watching; // it catches what the close throws into it
        _closing.Dispose();
    }
}
