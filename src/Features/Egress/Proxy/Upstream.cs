using System.Net;
using System.Net.Sockets;

namespace Hive.Features.Egress.Proxy;

/// <summary>The connection a door makes on an agent's behalf, to the proxy's target or to the forge.</summary>
internal static class Upstream
{
    /// <summary>
    /// The addresses in order, each given <paramref name="timeoutSeconds"/>: the first that answers, or the last failure
    /// (what it was, and the status to answer with: 504 for no answer in time, 502 for anything else).
    /// </summary>
    public static async Task<(Socket? Socket, IPAddress? Address, string Failure, int Status)> ConnectAsync(
        IReadOnlyList<IPAddress> addresses, int port, int timeoutSeconds, CancellationToken stopping)
    {
        var failure = "no address";
        var status = 502;
        IPAddress? last = null;
        foreach (var address in addresses)
        {
            last = address;
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), timeout.Token);
                return (socket, address, "", 200);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                socket.Dispose();
                (failure, status) = ($"{address}: no answer in {timeoutSeconds} s", 504);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                (failure, status) = ($"{address}: {e.SocketErrorCode}", 502);
            }
        }
        return (null, last, failure, status);
    }
}
