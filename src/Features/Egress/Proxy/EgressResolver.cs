using System.Net;

namespace Hive.Features.Egress.Proxy;

/// <summary>How the proxy turns a target's name into addresses, on the host. Replaced by tests (a table of names); the policy runs after it either way.</summary>
internal interface IEgressResolver
{
    ValueTask<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken);
}

/// <summary>The host's resolver (getaddrinfo: its /etc/hosts and DNS servers).</summary>
internal sealed class DnsResolver : IEgressResolver
{
    public async ValueTask<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken) =>
        await Dns.GetHostAddressesAsync(host, cancellationToken);
}
