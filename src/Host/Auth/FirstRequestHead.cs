using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace Hive.Host.Auth;

/// <summary>
/// A connection's first request head, read before Kestrel parses it (Kestrel reads the same bytes after), for
/// <see cref="HttpConnectionBudget"/>: does it carry the operator's credential? It only classifies the connection; the
/// request itself is still authorised by <see cref="OperatorAuthMiddleware"/>.
/// </summary>
internal static class FirstRequestHead
{
    /// <summary>The most of a first request's head read here; beyond, Kestrel's own limits answer it.</summary>
    private const int MaxHead = 32 * 1024;

    /// <summary>
    /// Waits for the first request's head (or the connection's end): true when it carries a valid credential, false when
    /// it does not, null when there was no HTTP/1 head to read. Consumes nothing.
    /// </summary>
    public static async Task<bool?> SignsInAsync(ConnectionContext connection, BudgetedConnection tracked, OperatorToken token)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            ReadResult result;
            try
            {
                var read = input.ReadAsync(connection.ConnectionClosed);
                tracked.PendingRead = new(read);
                result = await read;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionAbortedException or InvalidOperationException)
            {
                return null; // closed (made room for another, idle, or the client left): Kestrel sees the same and ends it
            }
            finally
            {
                tracked.PendingRead = null;
            }
            var buffer = result.Buffer;
            if (!buffer.IsEmpty) tracked.ReceivedBytes = true;
            var head = buffer.PositionOf((byte)'\n') is null ? -1 : FindEndOfHead(buffer);
            // Not HTTP/1 (a TLS hello, HTTP/2's preface starts with "PRI" but is fine): leave it to Kestrel unclassified.
            var notHttp = !buffer.IsEmpty && buffer.FirstSpan[0] is < (byte)'A' or > (byte)'Z';
            if (head >= 0 || notHttp || buffer.Length >= MaxHead || result.IsCompleted || result.IsCanceled)
            {
                var signedIn = head >= 0 ? SignsIn(buffer.Slice(0, head), token) : (bool?)null;
                input.AdvanceTo(buffer.Start); // nothing consumed, nothing examined: Kestrel's first read returns at once
                return signedIn;
            }
            input.AdvanceTo(buffer.Start, buffer.End); // wait for more
        }
    }

    private static long FindEndOfHead(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8, advancePastDelimiter: false) ? reader.Consumed : -1;
    }

    /// <summary>Whether a request head carries a valid credential: a Bearer token, a session cookie, or the sign-in link.</summary>
    private static bool SignsIn(ReadOnlySequence<byte> head, OperatorToken token)
    {
        var lines = System.Text.Encoding.Latin1.GetString(head.ToArray()).Split("\r\n");
        var signedIn = false;
        var target = lines[0].Split(' ');
        if (target.Length == 3 && target[0] == "GET" && target[1].StartsWith("/?", StringComparison.Ordinal))
            signedIn = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(target[1][1..]).TryGetValue("token", out var link)
                       && link.Count == 1 && token.IsToken(link[0]);
        foreach (var line in lines.Skip(1))
        {
            if (signedIn) break;
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line.AsSpan(0, colon).Trim();
            var value = line.AsSpan(colon + 1).Trim();
            if (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
                signedIn = value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && token.IsToken(value["Bearer ".Length..].Trim().ToString());
            else if (name.Equals("Cookie", StringComparison.OrdinalIgnoreCase))
                foreach (var cookie in value.ToString().Split(';', StringSplitOptions.TrimEntries))
                    if (cookie.StartsWith(OperatorAuthMiddleware.CookieName + "=", StringComparison.Ordinal)
                        && token.IsSession(cookie[(OperatorAuthMiddleware.CookieName.Length + 1)..], out _))
                        signedIn = true;
        }
        return signedIn;
    }
}
