using System.Globalization;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>What follows a turn's run of COMMAND in <see cref="Harness"/>: the messages acknowledged or left to come back, a usage limit reported, the turn recorded.</summary>
internal static class TurnRecord
{
    /// <summary>
    /// After COMMAND: acknowledge the messages (only when it exited 0, was not stopped and hit no usage limit: else they come
    /// back), report a usage limit, and record the turn, which ends it. A turn the hive ended first (its grace passed) is
    /// still recorded, late, so that its spend counts.
    /// </summary>
    public static async Task FinishAsync(HiveSocketClient socket, TextWriter log, List<JsonObject> messages, TurnOutcome turn, long? turnId)
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
                    await socket.CallAsync("ack", new JsonObject { ["id"] = message["id"]?.GetValue<long>() });
                }
                catch (CliError e) when (e.Code != "unavailable")
                {
                    log.WriteLine($"hivectl run: message {message["id"]} was not acknowledged: {e.Code}: {e.Message}");
                }
            }
        if (limited) await QuotaHitAsync(socket, log, until);

        var kind = handled && !stream.IsError ? "ok" : stream.PromptTooLong ? "prompt_too_long" : "failed";
        var note = turn.HiveToolsMissing is { } status ? $"the hive's MCP server was not connected: {status}"
            : limited ? "usage limit"
            : turn.Stopped is { } stop ? $"stopped ({stop.Reason}), exit code {turn.Exit}"
            : turn.Failure is { } failure ? failure
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
        await RecordAsync(socket, log, record, turnId);

        var outcome = handled ? ", acknowledged"
            : limited ? ", usage limit: not acknowledged, they come back"
            : turn.Stopped is not null ? $", stopped, exit {turn.Exit}: not acknowledged, they come back"
            : turn.HiveToolsMissing is not null ? ", without the hive's tools: not acknowledged, they come back"
            : turn.Failure is { } why ? $", {why}: not acknowledged, they come back"
            : $", exit {turn.Exit}: not acknowledged, they come back";
        log.WriteLine($"hivectl run: turn of {messages.Count} message(s): {kind} in {(turn.Ended - turn.Started).TotalMilliseconds:0} ms{outcome}");
    }

    private static async Task QuotaHitAsync(HiveSocketClient socket, TextWriter log, DateTimeOffset? until)
    {
        var fields = new JsonObject();
        if (until is { } at) fields["until"] = at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        try
        {
            var reply = await socket.CallAsync("quota_hit", fields);
            log.WriteLine($"hivectl run: usage limit: {Text.Str(reply, "provider")} held until {Text.Str(reply, "until")}");
        }
        catch (CliError e)
        {
            log.WriteLine($"hivectl run: the usage limit was not reported: {e.Code}: {e.Message}");
        }
    }

    private static async Task RecordAsync(HiveSocketClient socket, TextWriter log, JsonObject record, long? turnId)
    {
        try
        {
            await socket.CallAsync("record_turn", turnId is { } id ? WithTurnId(record, id) : record);
        }
        catch (CliError e)
        {
            // Refused whole (a turn is recorded once, as the turn the hive granted): said here, nothing to retry.
            log.WriteLine($"hivectl run: the turn was not recorded: {e.Code}: {e.Message}");
        }
    }

    private static JsonObject WithTurnId(JsonObject record, long id)
    {
        var fields = (JsonObject)record.DeepClone();
        fields["turn_id"] = id;
        return fields;
    }
}
