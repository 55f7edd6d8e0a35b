using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Hive.Features.Egress.Proxy;

/// <summary>
/// The host's own addresses and, with <see cref="EgressOptions.RefuseHostNetworks"/>, the networks its interfaces are on:
/// a service bound to all interfaces (the dashboard, say) is otherwise reachable at the host's public address. Read again
/// when older than a few seconds, so an interface that comes up is covered soon after.
/// </summary>
internal sealed class HostAddresses(IOptions<EgressOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(5);
    private readonly Lock _lock = new();
    private (DateTimeOffset At, IReadOnlyList<(IPAddress Address, int Prefix)> Networks)? _read;

    /// <summary>Why <paramref name="address"/> is the host's ("this host's address", "this host's network 192.0.2.0/24"); null when it is not.</summary>
    public string? Of(IPAddress address)
    {
        var a = Bare(address);
        foreach (var (own, prefix) in Networks())
        {
            if (own.AddressFamily != a.AddressFamily) continue;
            if (own.Equals(a)) return "this host's own address";
            if (options.Value.RefuseHostNetworks && prefix > 0 && InPrefix(a, own, prefix))
                return $"this host's network {Masked(own, prefix)}/{prefix}";
        }
        return null;
    }

    private IReadOnlyList<(IPAddress, int)> Networks()
    {
        var now = clock.GetUtcNow();
        lock (_lock)
        {
            if (_read is { } read && now - read.At < Fresh) return read.Networks;
            var networks = new List<(IPAddress, int)>();
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                    networks.Add((Bare(unicast.Address), unicast.PrefixLength));
            }
            _read = (now, networks);
            return networks;
        }
    }

    /// <summary>The address without its scope (fe80::1%eth0 is fe80::1), an IPv4-mapped one as IPv4.</summary>
    private static IPAddress Bare(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        return address.AddressFamily == AddressFamily.InterNetworkV6 ? new IPAddress(address.GetAddressBytes()) : address;
    }

    internal static bool InPrefix(IPAddress address, IPAddress network, int prefix)
    {
        var a = address.GetAddressBytes();
        var n = network.GetAddressBytes();
        if (a.Length != n.Length || prefix > a.Length * 8) return false;
        for (var bit = 0; bit < prefix; bit++)
        {
            var mask = (byte)(0x80 >> (bit % 8));
            if ((a[bit / 8] & mask) != (n[bit / 8] & mask)) return false;
        }
        return true;
    }

    private static IPAddress Masked(IPAddress network, int prefix)
    {
        var n = network.GetAddressBytes();
        for (var bit = prefix; bit < n.Length * 8; bit++) n[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(n);
    }
}
