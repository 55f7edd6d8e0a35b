using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run.Pty;

/// <summary>
/// A wake's message as the line typed into a terminal program (Enter follows): who wrote it, its id, whether it was
/// handed out before, then its body, on one line. Every control character (newlines, Escape, Ctrl-C and the like) is
/// typed as a space: an agent's message never presses a key. A line is cut to <see cref="MaxBytes"/>, under what a
/// terminal's line editing takes (4095 bytes), saying so.
/// </summary>
internal static class TypedLine
{
    public const int MaxBytes = 4000;

    public static string Of(JsonObject message)
    {
        var id = message["id"]?.ToString();
        var from = message["from"]?.GetValue<string>();
        var kind = message["kind"]?.GetValue<string>() is { } k && k != "message" ? $" ({k})" : "";
        var before = message["redelivered"]?.GetValue<bool>() == true ? " (handed out before and not acknowledged: possibly already handled)" : "";
        var line = Printable($"Message {id}{kind} from {from}{before}: {message["body"]?.GetValue<string>()}");
        return Encoding.UTF8.GetByteCount(line) <= MaxBytes ? line : Cut(line);
    }

    /// <summary>Each run of control characters (and line or paragraph separators) as one space.</summary>
    private static string Printable(string text)
    {
        var line = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            var control = char.IsControl(c) || c is '\u2028' or '\u2029';
            if (!control) line.Append(c);
            else if (line.Length == 0 || line[^1] != ' ') line.Append(' ');
        }
        return line.ToString();
    }

    private static string Cut(string line)
    {
        const int room = MaxBytes - 100; // the note's own bytes
        var end = 0;
        for (var bytes = 0; end < line.Length; end += char.IsSurrogatePair(line, end) ? 2 : 1)
        {
            bytes += Encoding.UTF8.GetByteCount(line.AsSpan(end, char.IsSurrogatePair(line, end) ? 2 : 1));
            if (bytes > room) break;
        }
        return $"{line[..end]} … (cut: {line.Length - end} more characters did not fit a terminal's line)";
    }
}
