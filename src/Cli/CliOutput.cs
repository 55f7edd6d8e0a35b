using System.Text.Json.Nodes;

namespace Hive.Cli;

/// <summary>What a command answers: the JSON document <c>--json</c> prints, and the text printed otherwise.</summary>
public sealed record CliOutput(JsonNode? Json, string? Text)
{
    /// <summary>A command that printed as it went (a stream: <c>tail</c>, <c>logs -f</c>).</summary>
    public static readonly CliOutput Streamed = new(null, null);

    public static JsonObject Ok(JsonObject? fields = null)
    {
        var ok = new JsonObject { ["ok"] = true };
        if (fields is not null)
            foreach (var (key, value) in fields) ok[key] = value?.DeepClone();
        return ok;
    }
}
