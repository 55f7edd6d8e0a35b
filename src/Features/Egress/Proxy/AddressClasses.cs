using System.Net;
using System.Net.Sockets;

namespace Hive.Features.Egress.Proxy;

/// <summary>
/// The addresses an agent's egress never reaches unless a rule names the address itself: the host's loopback, the private
/// and link-local networks (the cloud's metadata service), CGNAT, multicast and the reserved ranges, in IPv4 and IPv6, and
/// an IPv4 address carried inside an IPv6 one (mapped, IPv4-compatible, NAT64, 6to4) by the IPv4 address it carries.
/// 198.18.0.0/15 (benchmarking) is left reachable: the tests' own network lives there.
/// </summary>
internal static class AddressClasses
{
    /// <summary>The refused class <paramref name="address"/> is in, as a reader names it ("link-local 169.254.0.0/16"); null when it is in none.</summary>
    public static string? Of(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) return Of(address.MapToIPv4());
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork) return OfV4(b);
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return "not an IP address";
        if (b.All(x => x == 0)) return "unspecified ::";
        if (b.Take(15).All(x => x == 0) && b[15] == 1) return "loopback ::1";
        if (b.Take(12).All(x => x == 0)) return "IPv4-compatible ::/96";
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.Skip(4).Take(8).All(x => x == 0))
            return OfV4(b[12..16]) is { } nat64 ? $"NAT64 of {new IPAddress(b[12..16])}, {nat64}" : null;
        if (b[0] == 0x20 && b[1] == 0x02)
            return OfV4(b[2..6]) is { } sixToFour ? $"6to4 of {new IPAddress(b[2..6])}, {sixToFour}" : null;
        if ((b[0] & 0xfe) == 0xfc) return "unique local fc00::/7";
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local fe80::/10";
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local fec0::/10";
        if (b[0] == 0xff) return "multicast ff00::/8";
        return null;
    }

    private static string? OfV4(byte[] b) => b switch
    {
        [0, ..] => "this network 0.0.0.0/8",
        [10, ..] => "private 10.0.0.0/8",
        [100, var x, ..] when (x & 0xc0) == 64 => "shared (CGNAT) 100.64.0.0/10",
        [127, ..] => "loopback 127.0.0.0/8",
        [169, 254, ..] => "link-local 169.254.0.0/16",
        [172, var x, ..] when (x & 0xf0) == 16 => "private 172.16.0.0/12",
        [192, 168, ..] => "private 192.168.0.0/16",
        [var a, ..] when (a & 0xf0) == 224 => "multicast 224.0.0.0/4",
        [var a, ..] when a >= 240 => "reserved 240.0.0.0/4",
        _ => null,
    };
}
