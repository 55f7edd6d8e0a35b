using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli;

/// <summary>The human forms: aligned tables and one-line summaries of the wire's objects.</summary>
public static class Text
{
    public static string Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string?>> rows)
    {
        var all = rows.Select(r => r.Select(c => OneLine(c ?? "-")).ToArray()).ToList();
        if (all.Count == 0) return "(none)\n";
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells)
        {
            for (var i = 0; i < headers.Count; i++)
            {
                var cell = i < cells.Count ? cells[i] : "";
                text.Append(i == headers.Count - 1 ? cell : cell.PadRight(widths[i] + 2));
            }
            text.Append('\n');
        }
        Line(headers);
        foreach (var row in all) Line(row);
        return text.ToString();
    }

    public static string? Str(JsonNode? node, string name) => node?[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        var other => other.ToJsonString(),
    };

    /// <summary>
    /// <paramref name="s"/> on one line of at most <paramref name="max"/> characters. Escaped here already (the writer
    /// would escape it anyway) so that a table's widths and the cut count what the terminal shows.
    /// </summary>
    public static string OneLine(string s, int max = 120)
    {
        var flat = TerminalText.Escape(s.ReplaceLineEndings(" ").Replace('\t', ' '));
        return flat.Length <= max ? flat : flat[..(max - 1)] + "…";
    }

    /// <summary>A message as one line: <c>#12 alice → bob [answer] hello (redelivered)</c>.</summary>
    public static string Message(JsonNode? m)
    {
        if (m is null) return "";
        var kind = Str(m, "kind") is { } k && k != "message" ? $" [{k}]" : "";
        var redelivered = m["redelivered"]?.GetValue<bool>() == true ? $" (redelivered, delivery {Str(m, "delivery_count")})" : "";
        return $"#{Str(m, "id")} {Str(m, "from")} → {Str(m, "to")}{kind}: {OneLine(Str(m, "body") ?? "", 400)}{redelivered}";
    }

    /// <summary>A duration as people read it: <c>4.2s</c>, <c>3m07s</c>, <c>2h05m</c>, <c>3d04h</c>.</summary>
    public static string Age(TimeSpan age)
    {
        if (age < TimeSpan.Zero) age = TimeSpan.Zero;
        return age.TotalDays >= 1 ? $"{(int)age.TotalDays}d{age.Hours:00}h"
            : age.TotalHours >= 1 ? $"{(int)age.TotalHours}h{age.Minutes:00}m"
            : age.TotalMinutes >= 1 ? $"{(int)age.TotalMinutes}m{age.Seconds:00}s"
            : $"{age.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)}s";
    }
}
