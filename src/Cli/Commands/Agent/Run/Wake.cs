using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>What COMMAND is given of its wake: the messages on stdin, and a paragraph about them in <c>$HIVE_WAKE</c>.</summary>
internal static class Wake
{
    /// <summary>
    /// The turn's messages on COMMAND's stdin, one JSON line each, then stdin closed. Whether COMMAND reads them is its
    /// business: when it closes stdin or exits first, the write fails with a broken pipe, which is not the harness's
    /// failure (the turn's outcome is COMMAND's exit status).
    /// </summary>
    public static async Task WriteAsync(StreamWriter stdin, List<JsonObject> messages)
    {
        try
        {
            foreach (var message in messages) await stdin.WriteLineAsync(message.ToJsonString());
            stdin.Close();
        }
        catch (IOException)
        {
            stdin.BaseStream.Dispose(); // EPIPE: COMMAND stopped reading. Our end is closed without another flush.
        }
    }

    /// <summary>A compaction pass's stdin: the instruction (or nothing, when it is on the command line), then closed.</summary>
    public static async Task WriteTextAsync(StreamWriter stdin, string text)
    {
        try
        {
            if (text.Length > 0) await stdin.WriteLineAsync(text);
            stdin.Close();
        }
        catch (IOException)
        {
            stdin.BaseStream.Dispose();
        }
    }

    public static string Text(List<JsonObject> messages)
    {
        var from = messages.Select(m => m["from"]?.GetValue<string>()).Distinct();
        var redelivered = messages.Where(m => m["redelivered"]?.GetValue<bool>() == true).Select(m => m["id"]?.ToString()).ToList();
        var text = new StringBuilder($"You have {messages.Count} new message(s) from {string.Join(", ", from)}, one JSON object per line on stdin.");
        if (redelivered.Count > 0)
            text.Append($" Message(s) {string.Join(", ", redelivered)} were handed out before and not acknowledged: possibly already handled, so check before acting twice.");
        return text.ToString();
    }
}
