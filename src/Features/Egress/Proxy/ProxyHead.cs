using System.Text;
using Hive.Shared.Egress;

namespace Hive.Features.Egress.Proxy;

/// <summary>
/// A proxy request's head as the client sent it: <c>CONNECT host:port HTTP/1.1</c> (authority form), or a plain-http
/// request in absolute form (<c>GET http://host[:port]/path HTTP/1.1</c>) with its headers. Anything else is refused
/// with its status and a sentence (<see cref="Problem"/>), before anything is resolved or connected.
/// </summary>
internal sealed record ProxyHead(string Method, EgressTarget Target, string Version, string PathAndQuery, IReadOnlyList<(string Name, string Value)> Headers)
{
    public bool IsConnect => Method == "CONNECT";

    /// <summary>The plain-http request's body length (its Content-Length; 0 without one): no more is passed on.</summary>
    public long BodyLength { get; private init; }

    /// <summary>Hop-by-hop headers (RFC 9110 §7.6.1), dropped on the way through, with those the request's Connection names.</summary>
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
        { "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade", "Host" };

    /// <summary>Where <c>\r\n\r\n</c> ends in <paramref name="bytes"/> (the head's length), or -1.</summary>
    public static int EndOf(ReadOnlySpan<byte> bytes)
    {
        var at = bytes.IndexOf("\r\n\r\n"u8);
        return at < 0 ? -1 : at + 4;
    }

    /// <summary>The head in <paramref name="head"/> (up to and including its blank line), or the status and sentence of why not.</summary>
    public static ProxyHead? TryParse(ReadOnlySpan<byte> head, out int status, out string? problem)
    {
        status = 400;
        problem = null;
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(head);
        }
        catch (DecoderFallbackException)
        {
            problem = "the request head is not text";
            return null;
        }
        var lines = text.Split("\r\n");
        var line = lines[0].Split(' ');
        if (line.Length != 3 || line[0].Length == 0 || !line[0].All(IsTokenChar) || line[2] is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            problem = "the request line is not METHOD target HTTP/1.1";
            return null;
        }
        var (method, target, version) = (line[0], line[1], line[2]);
        var headers = new List<(string, string)>();
        foreach (var header in lines.Skip(1).TakeWhile(l => l.Length > 0))
        {
            var colon = header.IndexOf(':');
            if (colon <= 0 || !header[..colon].All(IsTokenChar))
            {
                problem = "a header line is not Name: value";
                return null;
            }
            headers.Add((header[..colon], header[(colon + 1)..].Trim(' ', '\t')));
        }

        if (method == "CONNECT")
        {
            if (EgressRule.TryParseTarget(target, out var why) is not { } authority)
            {
                problem = $"CONNECT takes host:port: {why}";
                return null;
            }
            return new ProxyHead(method, authority, version, "", headers);
        }
        if (!target.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            problem = target.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                ? "https goes through CONNECT host:443, not an https:// URL"
                : "this is a proxy: ask with CONNECT host:port or an absolute http:// URL";
            return null;
        }
        var rest = target["http://".Length..];
        var end = rest.IndexOfAny(['/', '?', '#']);
        var hostPort = end < 0 ? rest : rest[..end];
        var path = end < 0 ? "/" : rest[end..];
        if (path.StartsWith('?')) path = "/" + path;
        if (path.Contains('#')) path = path[..path.IndexOf('#')];
        if (hostPort.Contains('@'))
        {
            problem = "a URL with user information is not forwarded";
            return null;
        }
        var withPort = hostPort.EndsWith(']') || !hostPort.Contains(':') ? hostPort + ":80" : hostPort;
        if (EgressRule.TryParseTarget(withPort, out var problemOfUrl) is not { } origin)
        {
            problem = $"the URL's host: {problemOfUrl}";
            return null;
        }
        if (method is not ("GET" or "HEAD" or "POST" or "PUT" or "PATCH" or "DELETE" or "OPTIONS"))
        {
            status = 405;
            problem = $"{method} is not forwarded";
            return null;
        }
        // The body is passed on by its length and no further, so that nothing after it can be a second request.
        if (headers.Any(h => h.Item1.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)))
        {
            status = 411;
            problem = "a chunked request body is not forwarded over plain http; send Content-Length (or use https)";
            return null;
        }
        var lengths = headers.Where(h => h.Item1.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(h => h.Item2).Distinct().ToList();
        long length = 0;
        if (lengths.Count > 1 || (lengths.Count == 1 && (!lengths[0].All(char.IsAsciiDigit) || !long.TryParse(lengths[0], out length))))
        {
            problem = "the Content-Length is not one number";
            return null;
        }
        return new ProxyHead(method, origin, version, path, headers) { BodyLength = length };
    }

    /// <summary>
    /// The plain-http request as its origin gets it: origin form, a Host of the URL's authority, no Proxy-* nor hop-by-hop
    /// headers, and <c>Connection: close</c>, so the connection carries this one request.
    /// </summary>
    public byte[] ToOrigin()
    {
        var named = Headers.Where(h => h.Name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            .SelectMany(h => h.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var text = new StringBuilder();
        text.Append(Method).Append(' ').Append(PathAndQuery).Append(' ').Append(Version).Append("\r\n");
        text.Append("Host: ").Append(Target.Port == 80 ? Target.ToString()[..^3] : Target.ToString()).Append("\r\n");
        foreach (var (name, value) in Headers)
        {
            if (HopByHop.Contains(name) || named.Contains(name) || name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase)) continue;
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        text.Append("Connection: close\r\n\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>A response head with its hop-by-hop headers dropped and <c>Connection: close</c>: the client must not send another request on it.</summary>
    public static byte[] ResponseToClient(ReadOnlySpan<byte> head)
    {
        var lines = Encoding.Latin1.GetString(head).Split("\r\n");
        var named = lines.Skip(1).Where(l => l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase))
            .SelectMany(l => l["Connection:".Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var text = new StringBuilder();
        text.Append(lines[0]).Append("\r\n");
        foreach (var line in lines.Skip(1).TakeWhile(l => l.Length > 0))
        {
            var colon = line.IndexOf(':');
            var name = colon > 0 ? line[..colon] : line;
            if ((HopByHop.Contains(name) && !name.Equals("Host", StringComparison.OrdinalIgnoreCase)) || named.Contains(name)
                || name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase)) continue;
            text.Append(line).Append("\r\n");
        }
        text.Append("Connection: close\r\n\r\n");
        return Encoding.Latin1.GetBytes(text.ToString());
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c);
}
