using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run.Acp;

/// <summary>
/// An ACP agent's <c>session/request_permission</c>, put to the hive (<c>permission</c>, on a connection of its own, as it
/// may wait for the operator): the agent's policy answers, or the operator (or the manager) does through a question, and
/// the agent gets the option the hive chose. Each decision is a line of the transcript. When the hive cannot be asked (it
/// refused the request, or went away), the call is refused: no tool runs on a decision no one made.
/// </summary>
internal static class AcpPermissions
{
    /// <param name="toolOf">The tool a call of the turn is, by its id (the request names the call; its tool came in the updates).</param>
    public static async Task<JsonNode?> AnswerAsync(
        string socketPath, JsonObject? request, Func<string, string?> toolOf, TranscriptForwarder? transcript, TextWriter log, CancellationToken ct)
    {
        var call = request?["toolCall"] as JsonObject ?? [];
        var options = (request?["options"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var args = ArgsOf(call, options, toolOf);
        var title = StreamJson.Cut(AcpUpdates.Str(args, "title") ?? "?", 200);
        string said;
        string? optionId;
        try
        {
            await using var hive = await HiveSocketClient.ConnectAsync(socketPath, ct);
            var reply = await hive.CallAsync("permission", args, ct);
            optionId = AcpUpdates.Str(reply, "option_id");
            var rule = AcpUpdates.Str(reply, "rule");
            said = $"{(AcpUpdates.Str(reply, "decision") == "allow" ? "allowed" : "refused")} by {AcpUpdates.Str(reply, "by") ?? "?"}{(rule is null ? "" : $" ({rule})")}";
        }
        catch (CliError e)
        {
            optionId = Refusal(options);
            said = $"refused: the hive could not decide it ({e.Code}: {e.Message})";
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            optionId = Refusal(options);
            said = $"refused: the hive could not be asked ({e.Message})";
        }
        said = $"permission asked ({AcpUpdates.Str(args, "kind") ?? "?"}): {title}: {said}";
        transcript?.Add([new TranscriptEntry("system", said)]);
        log.WriteLine($"hivectl run: {said}");
        JsonNode outcome = optionId is null
            ? new JsonObject { ["outcome"] = "cancelled" }
            : new JsonObject { ["outcome"] = "selected", ["optionId"] = optionId };
        return new JsonObject { ["outcome"] = outcome };
    }

    /// <summary>The verb's arguments from the request: what the call does as the agent tells it, and the options it offers.</summary>
    private static JsonObject ArgsOf(JsonObject call, List<JsonObject> options, Func<string, string?> toolOf)
    {
        var id = AcpUpdates.Str(call, "toolCallId");
        var tool = call["_meta"]?["claudeCode"]?["toolName"] is JsonValue v && v.TryGetValue<string>(out var name) ? name
            : AcpUpdates.McpToolOf(call) ?? (id is not null ? toolOf(id) : null);
        var paths = (call["locations"] as JsonArray ?? []).OfType<JsonObject>().Select(l => AcpUpdates.Str(l, "path"))
            .Concat((call["content"] as JsonArray ?? []).OfType<JsonObject>().Where(c => AcpUpdates.Str(c, "type") == "diff").Select(c => AcpUpdates.Str(c, "path")))
            .OfType<string>().Distinct(StringComparer.Ordinal).Take(64);
        var command = call["rawInput"]?["command"] is JsonValue c && c.TryGetValue<string>(out var line) ? line : null;
        return new JsonObject
        {
            ["title"] = Trimmed(AcpUpdates.Str(call, "title"), 900) ?? tool ?? "a tool call",
            ["kind"] = Trimmed(AcpUpdates.Str(call, "kind"), 64),
            ["tool"] = Trimmed(tool, 256),
            ["command"] = Trimmed(command, 4096),
            ["paths"] = new JsonArray(paths.Select(p => (JsonNode?)Trimmed(p, 4096)).ToArray()),
            ["tool_call_id"] = Trimmed(id, 256),
            ["options"] = new JsonArray(options.Take(8).Select(o => (JsonNode?)new JsonObject
            {
                ["id"] = Trimmed(AcpUpdates.Str(o, "optionId"), 200) ?? "",
                ["name"] = Trimmed(AcpUpdates.Str(o, "name"), 1000),
                ["kind"] = Trimmed(AcpUpdates.Str(o, "kind"), 64),
            }).ToArray()),
        };
    }

    private static string? Trimmed(string? text, int max) => text is null ? null : text.Length <= max ? text : text[..max];

    private static string? Refusal(List<JsonObject> options) =>
        new[] { "reject_once", "reject_always" }.Select(k => options.FirstOrDefault(o => AcpUpdates.Str(o, "kind") == k))
            .OfType<JsonObject>().Select(o => AcpUpdates.Str(o, "optionId")).FirstOrDefault();
}
