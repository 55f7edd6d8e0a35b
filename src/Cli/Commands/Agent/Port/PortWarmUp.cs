using System.Net;
using System.Net.Sockets;

namespace Hive.Cli.Commands.Agent.Port;

/// <summary>
/// The relay's code made ready before COMMAND's first call needs it. Under the JIT, the first connection a port relays
/// compiles some fifty methods and a hundred and fifty stubs (the async machinery over the relay's own types, the splice's
/// marshalling), which ReadyToRun cannot hold: about 15 ms of an idle machine's time, hundreds of ms on a busy one, added
/// to an agent's first model call. So once COMMAND has started, the port relays one connection of its own, on loopback, to
/// an abstract Unix socket of its own (no file; its name is random, and what crosses it is a constant), by the very path
/// a real one takes. Best-effort: whatever fails here (another process of the namespace may see the name in
/// /proc/net/unix and connect first), the first real connection compiles what is left.
/// </summary>
internal static class PortWarmUp
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private static readonly byte[] Payload = "POST /warm-up HTTP/1.1\r\n\r\n"u8.ToArray();

    public static async Task RunAsync()
    {
        using var limit = new CancellationTokenSource(Limit);
        try
        {
            var name = $"\0hive-port-warm-up-{Environment.ProcessId}-{Guid.NewGuid():N}";
            using var upstream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            upstream.Bind(new UnixDomainSocketEndPoint(name));
            upstream.Listen(1);
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var relayed = RelayOneAsync(listener, new PortForwarder.Forward(name, "warm-up", _ => []), limit.Token);

            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await client.ConnectAsync(listener.LocalEndPoint!, limit.Token);
            using var server = await upstream.AcceptAsync(limit.Token);
            await using var near = new NetworkStream(client);
            await using var far = new NetworkStream(server);
            await PassAsync(near, far, limit.Token);
            await PassAsync(far, near, limit.Token);
            client.Shutdown(SocketShutdown.Send);
            await far.CopyToAsync(Stream.Null, limit.Token);
            server.Shutdown(SocketShutdown.Send);
            await near.CopyToAsync(Stream.Null, limit.Token);
            await relayed.WaitAsync(limit.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // Not warmed: the first real connection pays instead.
        }
    }

    private static async Task RelayOneAsync(Socket listener, PortForwarder.Forward forward, CancellationToken cancellationToken)
    {
        var accepted = await listener.AcceptAsync(cancellationToken);
        accepted.NoDelay = true;
        await PortForwarder.ServeAsync(accepted, forward);
    }

    /// <summary>The payload written on one side and read whole on the other (a relay that ends early: <see cref="EndOfStreamException"/>).</summary>
    private static async Task PassAsync(Stream from, Stream to, CancellationToken cancellationToken)
    {
        await from.WriteAsync(Payload, cancellationToken);
        await to.ReadExactlyAsync(new byte[Payload.Length], cancellationToken);
    }
}
