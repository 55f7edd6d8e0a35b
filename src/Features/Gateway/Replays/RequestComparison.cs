using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Hive.Contracts.Gateway;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// Whether a replayed model request is the recorded one, and if not, what differs. Both are normalised first, so that
/// what changes between any two runs of the same turn does not count: the replay agent's name (in its paths, its
/// <c>whoami</c>) reads as the original's; times and dates, ids given to messages and tool calls, and UUIDs read as
/// placeholders. What is left differs for a reason: a changed system prompt, tool list, model or parameter, or a tool
/// result that differs because the world moved on.
/// </summary>
internal static partial class RequestComparison
{
    private const int MaxDifferences = 20;
    private const int MaxShown = 300;
    private const int MaxLines = 40;

    /// <summary>The request as compared (null when it is not JSON: then it is compared byte for byte, as text).</summary>
    public static JsonNode? Normalise(ReadOnlySpan<byte> body, string replayAgent, string sourceAgent)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return JsonValue.Create(Text(System.Text.Encoding.UTF8.GetString(body), replayAgent, sourceAgent));
        }
        return Walk(node, null, replayAgent, sourceAgent);
    }

    public static bool Same(JsonNode? recorded, JsonNode? replayed) => JsonNode.DeepEquals(recorded, replayed);

    /// <summary>What differs, by JSON path, at most <see cref="MaxDifferences"/>; a differing text also as its changed lines.</summary>
    public static IReadOnlyList<RequestDifference> Differences(JsonNode? recorded, JsonNode? replayed)
    {
        var found = new List<RequestDifference>();
        Compare("$", recorded, replayed, found);
        return found;
    }

    /// <summary>A normalised copy of <paramref name="node"/> (<paramref name="key"/>: the name it has in its object).</summary>
    private static JsonNode? Walk(JsonNode? node, string? key, string replayAgent, string sourceAgent)
    {
        switch (node)
        {
            case JsonObject o:
                var fields = new JsonObject();
                foreach (var (name, value) in o) fields[name] = Walk(value, name, replayAgent, sourceAgent);
                return fields;
            case JsonArray a:
                var items = new JsonArray();
                foreach (var item in a) items.Add(Walk(item, null, replayAgent, sourceAgent));
                return items;
            case JsonValue v when v.GetValueKind() is JsonValueKind.Number or JsonValueKind.String && key is not null && IsIdName(key):
                // An id by its name (a message's, a tool call's, the client's device and session in metadata.user_id).
                return JsonValue.Create("<id>");
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return JsonValue.Create(Text(v.GetValue<string>(), replayAgent, sourceAgent));
            default:
                return node?.DeepClone();
        }
    }

    private static bool IsIdName(string key) => key == "id" || key.EndsWith("_id", StringComparison.Ordinal);

    private static string Text(string text, string replayAgent, string sourceAgent)
    {
        if (replayAgent != sourceAgent) text = text.Replace(replayAgent, sourceAgent, StringComparison.Ordinal);
        text = Times().Replace(text, "<time>");
        text = Dates().Replace(text, "<date>");
        text = Uuids().Replace(text, "<uuid>");
        text = ProviderIds().Replace(text, "<id>");
        return EmbeddedIds().Replace(text, "\"${name}\":<id>");
    }

    [GeneratedRegex(@"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")]
    private static partial Regex Times();

    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}\b")]
    private static partial Regex Dates();

    [GeneratedRegex(@"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")]
    private static partial Regex Uuids();

    /// <summary>The ids the providers give tool calls and messages (<c>toolu_…</c>, <c>msg_…</c>, <c>call_…</c>).</summary>
    [GeneratedRegex(@"\b(toolu|msg|call|chatcmpl|resp|req)_[A-Za-z0-9]+")]
    private static partial Regex ProviderIds();

    /// <summary>An id in JSON written inside a text (a tool's result: <c>{"ok":true,"id":42}</c>, a device's <c>"device_id":"fde0…"</c>).</summary>
    [GeneratedRegex("\"(?<name>id|[a-z_]+_id)\"\\s*:\\s*(\\d+|\"[^\"]*\")")]
    private static partial Regex EmbeddedIds();

    private static void Compare(string path, JsonNode? recorded, JsonNode? replayed, List<RequestDifference> found)
    {
        if (found.Count >= MaxDifferences || JsonNode.DeepEquals(recorded, replayed)) return;
        switch (recorded, replayed)
        {
            case (JsonObject a, JsonObject b):
                foreach (var name in a.Select(p => p.Key).Concat(b.Select(p => p.Key)).Distinct(StringComparer.Ordinal))
                    Compare($"{path}.{name}", a[name], b[name], found);
                return;
            case (JsonArray a, JsonArray b) when Named(a) && Named(b):
                // A tool list: by name, so one tool added does not make every later one differ.
                var before = a.ToDictionary(t => t!["name"]!.GetValue<string>(), StringComparer.Ordinal);
                var after = b.ToDictionary(t => t!["name"]!.GetValue<string>(), StringComparer.Ordinal);
                foreach (var name in before.Keys.Concat(after.Keys).Distinct(StringComparer.Ordinal))
                    Compare($"{path}[name={name}]", before.GetValueOrDefault(name), after.GetValueOrDefault(name), found);
                return;
            case (JsonArray a, JsonArray b):
                for (var i = 0; i < Math.Max(a.Count, b.Count); i++)
                    Compare($"{path}[{i}]", i < a.Count ? a[i] : null, i < b.Count ? b[i] : null, found);
                return;
            case (JsonValue a, JsonValue b) when a.GetValueKind() == JsonValueKind.String && b.GetValueKind() == JsonValueKind.String:
                var (x, y) = (a.GetValue<string>(), b.GetValue<string>());
                found.Add(new RequestDifference(path, Shown(x), Shown(y), x.Contains('\n') || y.Contains('\n') || Math.Max(x.Length, y.Length) > 120 ? Lines(x, y) : null));
                return;
            default:
                found.Add(new RequestDifference(path, recorded is null ? null : Shown(recorded.ToJsonString()), replayed is null ? null : Shown(replayed.ToJsonString())));
                return;
        }
    }

    private static bool Named(JsonArray list) =>
        list.Count > 0 && list.All(t => t is JsonObject o && o["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String)
        && list.Select(t => t!["name"]!.GetValue<string>()).Distinct(StringComparer.Ordinal).Count() == list.Count;

    private static string Shown(string text) => text.Length <= MaxShown ? text : string.Concat(text.AsSpan(0, MaxShown), "…");

    /// <summary>The changed lines of a text: <c>- </c> as recorded, <c>+ </c> as replayed.</summary>
    private static IReadOnlyList<string> Lines(string recorded, string replayed)
    {
        var lines = new List<string>();
        foreach (var line in InlineDiffBuilder.Diff(recorded, replayed, ignoreWhiteSpace: false).Lines)
        {
            if (line.Type is not (ChangeType.Deleted or ChangeType.Inserted)) continue;
            if (lines.Count == MaxLines)
            {
                lines.Add("…");
                break;
            }
            lines.Add((line.Type == ChangeType.Deleted ? "- " : "+ ") + Shown(line.Text));
        }
        return lines;
    }
}
