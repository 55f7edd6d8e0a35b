using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Hive.Shared.Egress;

/// <summary>An agent's network: <c>sealed</c> (loopback only; out through the hive's doors) or <c>open</c> (the host's).</summary>
public static class NetworkModes
{
    public const string Sealed = "sealed";
    public const string Open = "open";

    public static bool IsKnown(string? mode) => mode is Sealed or Open;
}

/// <summary>
/// One rule of an agent's <c>egress</c> list: <c>host[:port]</c>, where host is a DNS name (letters, digits, hyphens;
/// lowercased, a trailing dot dropped), <c>*.</c> and a name of at least two labels (any name beneath it, not the name
/// itself), or an IP address written canonically (<c>203.0.113.7</c>, <c>[2001:db8::1]</c>); the port defaults to 443.
/// The same grammar reads a proxy request's target (<see cref="TryParseTarget"/>), so a rule and a target are compared
/// as the same normal form, never as the strings the agent wrote.
/// </summary>
public sealed record EgressRule(string Host, int Port, bool Wildcard, IPAddress? Address)
{
    public const int MaxRules = 256;
    public const int MaxLength = 255;
    public const int DefaultPort = 443;

    /// <summary>Whether a connection to <paramref name="target"/> is one this rule allows (before its address is checked).</summary>
    public bool Matches(EgressTarget target)
    {
        if (target.Port != Port) return false;
        if (Address is not null) return target.Address is not null && target.Address.Equals(Address);
        if (target.Address is not null) return false;
        return Wildcard ? target.Host.EndsWith("." + Host, StringComparison.Ordinal) : target.Host == Host;
    }

    /// <summary>Whether this rule names <paramref name="address"/> literally: the one way to reach a private or loopback address.</summary>
    public bool NamesLiterally(IPAddress address, int port) => Address is not null && Port == port && Address.Equals(Normal(address));

    public override string ToString()
    {
        var host = Address is { AddressFamily: AddressFamily.InterNetworkV6 } ? $"[{Address}]" : Wildcard ? "*." + Host : Host;
        return $"{host}:{Port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The rule <paramref name="text"/> says, or why it is not one (a sentence naming it).</summary>
    public static EgressRule? TryParse(string? text, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(text)) { problem = "an egress rule is empty"; return null; }
        if (text.Length > MaxLength) { problem = $"egress rule '{Shown(text)}' is over {MaxLength} characters"; return null; }
        if (text.Contains("://", StringComparison.Ordinal) || text.Contains('/'))
        {
            problem = $"egress rule '{Shown(text)}' is a URL; a rule is host[:port], e.g. github.com:443";
            return null;
        }
        var wildcard = text.StartsWith("*.", StringComparison.Ordinal);
        if (!SplitHostPort(wildcard ? text[2..] : text, DefaultPort, out var host, out var port, out var why)
            || !Normalise(host, out var name, out var address, out why))
        {
            problem = $"egress rule '{Shown(text)}': {why}";
            return null;
        }
        if (wildcard)
        {
            if (address is not null) { problem = $"egress rule '{Shown(text)}': a wildcard goes before a name, not an address"; return null; }
            if (name.Count(c => c == '.') < 1)
            {
                problem = $"egress rule '{Shown(text)}': a wildcard covers the names beneath a domain of at least two labels (*.example.com), not a whole top-level domain";
                return null;
            }
        }
        return new EgressRule(name, port, wildcard, address);
    }

    /// <summary>Why <paramref name="rules"/> cannot be an agent's egress list (the first bad rule, or its size); null when it can.</summary>
    public static string? ProblemWith(IReadOnlyList<string>? rules)
    {
        if (rules is null) return null;
        if (rules.Count > MaxRules) return $"egress has {rules.Count} rules; at most {MaxRules}";
        foreach (var text in rules)
            if (TryParse(text, out var problem) is null) return problem;
        return null;
    }

    /// <summary>The rules of a list already checked (<see cref="ProblemWith"/>); a rule that does not parse is left out.</summary>
    public static IReadOnlyList<EgressRule> ParseAll(IEnumerable<string>? rules) =>
        rules is null ? [] : rules.Select(r => TryParse(r, out _)).OfType<EgressRule>().ToList();

    /// <summary>A proxy request's target, <c>host:port</c> (authority form; the port is required), or why it is not one.</summary>
    public static EgressTarget? TryParseTarget(string? authority, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(authority) || authority.Length > MaxLength) { problem = "the target is empty or too long"; return null; }
        if (!SplitHostPort(authority, null, out var host, out var port, out var why) || !Normalise(host, out var name, out var address, out why))
        {
            problem = $"'{Shown(authority)}' is not host:port: {why}";
            return null;
        }
        return new EgressTarget(name, port, address);
    }

    /// <summary>An address as the rules compare it: an IPv4 address mapped into IPv6 is the IPv4 address.</summary>
    public static IPAddress Normal(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static bool SplitHostPort(string text, int? defaultPort, out string host, out int port, out string? problem)
    {
        problem = null;
        port = defaultPort ?? 0;
        string? portText = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0) { host = ""; problem = "an IPv6 address opened with [ is not closed"; return false; }
            host = text[..(close + 1)];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') { problem = "after ] comes :port or nothing"; return false; }
                portText = rest[1..];
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon >= 0 && text.IndexOf(':') != colon) { host = text; problem = "an IPv6 address is written in brackets, [2001:db8::1]:443"; return false; }
            host = colon >= 0 ? text[..colon] : text;
            if (colon >= 0) portText = text[(colon + 1)..];
        }
        if (portText is null)
        {
            if (defaultPort is null) { problem = "the port is missing"; return false; }
            return true;
        }
        if (portText.Length is 0 or > 5 || !portText.All(char.IsAsciiDigit) || portText[0] == '0'
            || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            problem = $"the port '{Shown(portText)}' is not a number from 1 to 65535";
            return false;
        }
        return true;
    }

    /// <summary>A DNS name (LDH, lowercased, no trailing dot) or a canonically written address; odd numeric forms (<c>127.1</c>, <c>0x7f.1</c>, <c>2130706433</c>) are refused.</summary>
    private static bool Normalise(string host, out string name, out IPAddress? address, out string? problem)
    {
        name = "";
        address = null;
        problem = null;
        if (host.StartsWith('['))
        {
            var inner = host[1..^1];
            if (inner.Contains('%') || !IPAddress.TryParse(inner, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                problem = $"'{Shown(host)}' is not an IPv6 address";
                return false;
            }
            address = Normal(v6);
            name = address.ToString();
            return true;
        }
        var lowered = host.ToLowerInvariant();
        if (lowered.EndsWith('.')) lowered = lowered[..^1];
        if (lowered.Length is 0 or > 253) { problem = "a name is 1 to 253 characters"; return false; }
        var labels = lowered.Split('.');
        if (labels.All(l => l.Length > 0 && l.All(char.IsAsciiDigit)) || lowered.StartsWith("0x", StringComparison.Ordinal) || labels.All(IsNumericLabel))
        {
            if (labels.Length == 4 && IPAddress.TryParse(lowered, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork && v4.ToString() == lowered)
            {
                address = v4;
                name = lowered;
                return true;
            }
            problem = $"'{Shown(host)}' is an address written in an odd form; write it as four decimal numbers (203.0.113.7)";
            return false;
        }
        foreach (var label in labels)
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                problem = label.Contains('*')
                    ? "a wildcard goes only at the start, as *.example.com"
                    : $"'{Shown(host)}' is not a DNS name (labels of 1 to 63 letters, digits or hyphens, separated by dots)";
                return false;
            }
        }
        name = lowered;
        return true;
    }

    private static bool IsNumericLabel(string label) =>
        label.Length > 0 && (label.All(char.IsAsciiDigit) || (label.StartsWith("0x", StringComparison.Ordinal) && label[2..].All(char.IsAsciiHexDigit)));

    private static string Shown(string text) => text.Length <= 80 ? text : text[..80] + "…";
}

/// <summary>Where a proxy request asks to go, normalised as <see cref="EgressRule"/> reads it: a name, or an address (<see cref="Address"/>).</summary>
public sealed record EgressTarget(string Host, int Port, IPAddress? Address)
{
    public override string ToString() =>
        Address is { AddressFamily: AddressFamily.InterNetworkV6 } ? $"[{Address}]:{Port}" : $"{Host}:{Port}";
}
