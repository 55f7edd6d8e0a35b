using System.Diagnostics;
using Hive.Testing;

namespace Hive.Bench.Infrastructure;

/// <summary>One request line (a <c>send</c>) timed from write to reply; a refused reply stops the bench.</summary>
internal static class TimedSend
{
    public static async Task<double> MillisecondsAsync(LineClient client, byte[] line)
    {
        var started = Stopwatch.GetTimestamp();
        var reply = await client.CallAsync(line);
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (!Reply.IsOk(reply.Span)) throw new InvalidOperationException($"send failed: {Reply.Text(reply.Span)}");
        return ms;
    }
}
