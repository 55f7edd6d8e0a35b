using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>tail</c>: follows <c>/api/events</c> as readable lines until Ctrl-C. When the stream ends (the host restarted, the
/// network hiccuped, the host cut a slow reader off) it reconnects with a backoff and sends <c>Last-Event-ID</c>, so it
/// misses nothing the host still holds; when the host no longer has those events it says so (<c>resync</c>) and goes on.
/// With <c>--json</c> it prints one JSON object per event (JSON lines: a stream has no single document).
/// </summary>
public static class TailCommand
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    public static void AddTo(RootCommand root)
    {
        var since = new Option<long?>("--since") { Description = "resume after this event id (a status's seq) instead of from now" };
        var command = new Command("tail", "follow the hive's events, reconnecting and resuming across host restarts, until Ctrl-C") { since };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var lastId = cx.Value(since);
            var backoff = FirstBackoff;
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await foreach (var e in api.EventsAsync(lastId, ct))
                    {
                        backoff = FirstBackoff; // connected: the next outage starts its backoff afresh
                        if (e.Id is { } id) lastId = id;
                        Print(cx, e);
                    }
                    cx.Err.WriteLine($"hivectl: the event stream ended; reconnecting after event {lastId?.ToString() ?? "(none)"}");
                }
                catch (CliError error) when (error.Code is "unavailable" or "busy" or "storage_unavailable" or "failed")
                {
                    cx.Err.WriteLine($"hivectl: {error.Code}: {error.Message}; retrying in {backoff.TotalSeconds:0.#} s");
                }
                await Task.Delay(backoff, ct);
                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }
            return CliOutput.Streamed;
        });
        root.Subcommands.Add(command);
    }

    private static void Print(CliContext cx, HiveEvent e)
    {
        if (cx.Json)
        {
            JsonNode? data;
            try { data = JsonNode.Parse(e.Data); }
            catch (JsonException) { data = e.Data; }
            var line = new JsonObject { ["id"] = e.Id, ["event"] = e.Type, ["data"] = data };
            cx.Out.WriteLine(line.ToJsonString(CommandRunner.Compact));
        }
        else
        {
            cx.Out.WriteLine(Describe(e));
        }
        cx.Out.Flush();
    }

    /// <summary>One readable line: <c>#seq type: what happened</c>.</summary>
    public static string Describe(HiveEvent e)
    {
        JsonNode? d = null;
        try { d = JsonNode.Parse(e.Data); }
        catch (JsonException) { }
        var what = e.Type switch
        {
            "hello" => $"connected (seq {Text.Str(d, "seq")})",
            "resync" => "events were missed (the host restarted, or this reader fell behind): what follows is live; run status for the whole state",
            "sent" => Text.Message(d?["message"] ?? d),
            "delivered" => $"#{Text.Str(d?["message"] ?? d, "id")} delivered to {Text.Str(d?["message"] ?? d, "to")}",
            "container_state_changed" => $"{Text.Str(d?["agent"], "name")} {Text.Str(d?["agent"], "state")}" +
                                         (Text.Str(d?["agent"], "transient") is { } t ? $" ({t})" : ""),
            _ => Text.OneLine(e.Data, 300),
        };
        return e.Id is { } id ? $"#{id} {e.Type}: {what}" : $"{e.Type}: {what}";
    }
}
