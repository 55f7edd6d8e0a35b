using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>
/// Sends a turn's transcript to the hive as COMMAND prints it (<c>transcript</c> verb), and the session id as soon as
/// COMMAND names it (<c>session</c>), on a connection of its own so that a slow hive never holds up COMMAND's output.
/// Batching is by back-pressure: one request in flight, and what was printed meanwhile goes in the next (at most
/// <see cref="MaxEntries"/> entries, about <see cref="MaxBatchChars"/> characters, under the socket's 64 KiB lines even escaped). An entry
/// is sent at once when the connection is idle, so the page lags COMMAND by one round trip, not by a timer. Once the hive
/// says the turn's transcript is full (dropped entries), nothing more is sent for this turn. Failures are logged once and
/// never fail the turn.
/// </summary>
internal sealed class TranscriptForwarder : IAsyncDisposable
{
    public const int MaxEntries = 32;
    public const int MaxBatchChars = 9_000;

    private readonly string _socketPath;
    private readonly TextWriter _log;
    private readonly Channel<object> _queue = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _sending;
    private HiveSocketClient? _connection;
    private bool _full;
    private bool _failed;
    private string? _session;

    public TranscriptForwarder(string socketPath, TextWriter log)
    {
        _socketPath = socketPath;
        _log = log;
        _sending = Task.Run(SendLoopAsync);
    }

    public void Add(IEnumerable<TranscriptEntry> entries)
    {
        foreach (var entry in entries) _queue.Writer.TryWrite(entry);
    }

    /// <summary>The session COMMAND named: sent once per new id, in order with the entries.</summary>
    public void Session(string? sessionId)
    {
        if (sessionId is null || sessionId == _session) return;
        _session = sessionId;
        _queue.Writer.TryWrite(new SessionId(sessionId));
    }

    /// <summary>A compaction asked of the next turn (the context ended above the watermark).</summary>
    public void CompactNext() => _queue.Writer.TryWrite(new CompactNextTurn());

    /// <summary>A session COMMAND could not resume: the next turn starts afresh.</summary>
    public void Forget(string sessionId) => _queue.Writer.TryWrite(new ForgetSession(sessionId));

    private sealed record SessionId(string Id);

    private sealed record ForgetSession(string Id);

    private sealed record CompactNextTurn;

    private async Task SendLoopAsync()
    {
        var batch = new List<TranscriptEntry>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            var chars = 0;
            while (batch.Count < MaxEntries && _queue.Reader.TryPeek(out var item))
            {
                if (item is TranscriptEntry entry)
                {
                    if (batch.Count > 0 && chars + entry.Text.Length > MaxBatchChars) break;
                    _queue.Reader.TryRead(out _);
                    batch.Add(entry);
                    chars += entry.Text.Length + (entry.Tool?.Length ?? 0);
                    continue;
                }
                if (batch.Count > 0) break; // entries before it go first
                _queue.Reader.TryRead(out _);
                await CallAsync("session",
                    item switch
                    {
                        SessionId id => new JsonObject { ["session_id"] = id.Id },
                        ForgetSession forget => new JsonObject { ["forget"] = forget.Id },
                        _ => new JsonObject { ["compact_next"] = true },
                    });
            }
            if (batch.Count == 0) continue;
            if (!_full)
            {
                var entries = new JsonArray(batch.Select(e => (JsonNode)new JsonObject { ["kind"] = e.Kind, ["text"] = e.Text, ["tool"] = e.Tool }).ToArray());
                var reply = await CallAsync("transcript", new JsonObject { ["entries"] = entries });
                if (reply?["dropped"] is JsonValue d && d.TryGetValue<long>(out var dropped) && dropped > 0) _full = true;
            }
            batch.Clear();
        }
    }

    private async Task<JsonObject?> CallAsync(string op, JsonObject fields)
    {
        try
        {
            _connection ??= await HiveSocketClient.ConnectAsync(_socketPath);
            return await _connection.CallAsync(op, fields);
        }
        catch (CliError e)
        {
            if (!_failed) _log.WriteLine($"hivectl run: {op} not sent: {e.Code}: {e.Message}");
            _failed = true;
            if (e.Code == "unavailable" && _connection is not null)
            {
                await _connection.DisposeAsync();
                _connection = null;
            }
            return null;
        }
    }

    /// <summary>Sends what is left and closes: the transcript is all in before the turn is recorded (which files it under the turn).</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _sending;
        if (_connection is not null) await _connection.DisposeAsync();
    }
}
