using Hive.Features.Egress.Proxy;

namespace Hive.Tests.Features.Egress;

/// <summary>Names the test decides: each to its addresses; any other does not resolve (as NXDOMAIN).</summary>
internal sealed class StaticResolver(Dictionary<string, IPAddress[]> names) : IEgressResolver
{
    public ValueTask<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken) =>
        names.TryGetValue(host, out var addresses)
            ? ValueTask.FromResult<IReadOnlyList<IPAddress>>(addresses)
            : throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound);
}
