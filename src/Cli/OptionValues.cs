using System.Text.Json.Nodes;

namespace Hive.Cli;

/// <summary>What repeatable options turn into on the wire.</summary>
public static class OptionValues
{
    /// <summary>
    /// <c>--env KEY=VALUE</c>-style items as one JSON object (split at the first <c>=</c>, so a value may hold more); an
    /// item without a key before its <c>=</c>, or a key given twice, is a usage error naming <paramref name="flag"/>.
    /// </summary>
    public static JsonObject Pairs(IEnumerable<string> items, string flag, string shape)
    {
        var pairs = new JsonObject();
        foreach (var item in items)
        {
            var eq = item.IndexOf('=');
            if (eq <= 0) throw new UsageError($"{flag} takes {shape}, not {item}");
            var key = item[..eq];
            if (pairs.ContainsKey(key)) throw new UsageError($"{flag} names {key} twice");
            pairs[key] = item[(eq + 1)..];
        }
        return pairs;
    }

    /// <summary>Strings as a JSON array.</summary>
    public static JsonArray Array(IEnumerable<string> items) => new(items.Select(i => (JsonNode?)i).ToArray());
}
