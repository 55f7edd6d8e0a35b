using System.Text.Json;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>What Claude Code's <c>--output-format stream-json</c> says of a turn; lines that are not it are ignored.</summary>
internal sealed class StreamJson
{
    public string? Model { get; private set; }
    public long? InputTokens { get; private set; }
    public long? OutputTokens { get; private set; }
    public long? CacheReadTokens { get; private set; }
    public long? CacheCreationTokens { get; private set; }
    public double? CostUsd { get; private set; }
    public bool IsError { get; private set; }
    public bool PromptTooLong { get; private set; }

    /// <summary>The <c>result</c> line's text (the answer, or what went wrong when <see cref="IsError"/>).</summary>
    public string? ResultText { get; private set; }

    public Dictionary<string, long> Tools { get; } = new(StringComparer.Ordinal);

    public void Read(string line)
    {
        if (!line.StartsWith('{')) return;
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            switch (root.TryGetProperty("type", out var type) ? type.GetString() : null)
            {
                case "assistant" when root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object:
                    if (message.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String) Model = model.GetString();
                    if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                        foreach (var block in content.EnumerateArray())
                            if (block.ValueKind == JsonValueKind.Object && block.TryGetProperty("type", out var t) && t.GetString() == "tool_use"
                                && block.TryGetProperty("name", out var name) && name.GetString() is { Length: > 0 and <= 64 } tool)
                                Tools[tool] = Tools.GetValueOrDefault(tool) + 1;
                    break;
                case "result":
                    IsError = root.TryGetProperty("is_error", out var error) && error.ValueKind == JsonValueKind.True;
                    ResultText = root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.String ? result.GetString() : null;
                    PromptTooLong = ResultText?.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase) == true;
                    if (root.TryGetProperty("total_cost_usd", out var cost) && cost.ValueKind == JsonValueKind.Number
                        && cost.TryGetDouble(out var usd) && double.IsFinite(usd) && usd is >= 0 and <= 1_000_000)
                        CostUsd = usd;
                    if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                    {
                        InputTokens = Number(usage, "input_tokens");
                        OutputTokens = Number(usage, "output_tokens");
                        CacheReadTokens = Number(usage, "cache_read_input_tokens");
                        CacheCreationTokens = Number(usage, "cache_creation_input_tokens");
                    }
                    break;
            }
        }
        catch (JsonException)
        {
        }
    }

    private static long? Number(JsonElement usage, string name) =>
        usage.TryGetProperty(name, out var value) && value.TryGetInt64(out var n) && n >= 0 ? n : null;
}
