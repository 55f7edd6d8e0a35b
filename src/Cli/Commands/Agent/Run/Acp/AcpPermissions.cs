using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run.Acp;

/// <summary>
/// An ACP agent's <c>session/request_permission</c>, answered with one of the options it offered. For now the rule is
/// fixed: the hive's own tools (its MCP server's) are allowed once, anything else is refused once, and each decision is a
/// line of the transcript. The operator's say (a question, a per-agent policy, the audit) is the next step.
/// </summary>
internal static class AcpPermissions
{
    /// <param name="toolOf">The tool a call of the turn is, by its id (the request names the call; its tool came in the updates).</param>
    public static Task<JsonNode?> AnswerAsync(JsonObject? request, Func<string, string?> toolOf, TranscriptForwarder? transcript, TextWriter log)
    {
        var call = request?["toolCall"] as JsonObject;
        var title = call is null ? "?" : AcpUpdates.Str(call, "title") ?? "?";
        var kind = call is null ? null : AcpUpdates.Str(call, "kind");
        var tool = call?["_meta"]?["claudeCode"]?["toolName"] is JsonValue v && v.TryGetValue<string>(out var name) ? name
            : call is not null && AcpUpdates.Str(call, "toolCallId") is { } id && toolOf(id) is { } known ? known
            : title;
        var options = (request?["options"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var hiveTool = tool.StartsWith($"mcp__{StreamJson.HiveServer}__", StringComparison.Ordinal);
        var wanted = hiveTool ? new[] { "allow_once", "allow_always" } : ["reject_once", "reject_always"];
        var option = wanted.Select(w => options.FirstOrDefault(o => AcpUpdates.Str(o, "kind") == w)).FirstOrDefault(o => o is not null);
        var said = $"permission asked ({kind ?? "?"}): {StreamJson.Cut(title, 200)}: {(hiveTool ? "allowed (the hive's own tool)" : "refused")}";
        transcript?.Add([new TranscriptEntry("system", said)]);
        log.WriteLine($"hivectl run: {said}");
        JsonNode outcome = option is null
            ? new JsonObject { ["outcome"] = "cancelled" }
            : new JsonObject { ["outcome"] = "selected", ["optionId"] = option["optionId"]?.DeepClone() };
        return Task.FromResult<JsonNode?>(new JsonObject { ["outcome"] = outcome });
    }
}
