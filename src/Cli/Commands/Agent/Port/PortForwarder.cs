using System.Buffers;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Hive.Features.Egress.Proxy;

namespace Hive.Cli.Commands.Agent.Port;

/// <summary>
/// What <see cref="PortCommand"/> does: a listener on loopback per forward, COMMAND as a child, and each accepted connection joined to
/// a new connection to the Unix socket, byte for byte both ways as the bytes arrive (a streamed response reaches COMMAND
/// piece by piece; nothing is buffered whole), each direction's end passed on as a half-close, any number at once. A
/// socket that cannot be reached is answered with a short HTTP 502 whose body says so (in the shape both the Anthropic and
/// the OpenAI clients read: <c>{"type":"error","error":{"type","message"}}</c>), then the connection is closed.
/// </summary>
internal static class PortForwarder
{
    private const int BufferBytes = 32 * 1024;
    private const int SignalExitBase = 128;

    /// <summary>One forward: its Unix socket, what that socket is (for the 502), and the variables COMMAND gets for its port.</summary>
    public sealed record Forward(string Socket, string What, Func<int, IEnumerable<KeyValuePair<string, string>>> Variables);

    public static int Run(IReadOnlyList<Forward> forwards, string[] argv)
    {
        if (PortInProcess.Takes(argv)) return PortInProcess.Run(forwards, argv);

        // Registered first, so that no moment exists in which one of them ends this process by default. A signal before
        // COMMAND starts ends the port instead (COMMAND could not get it); after, COMMAND has its own copy and decides.
        var process = default(Process);
        var early = 0;
        void Hold(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Volatile.Read(ref process) is null) Interlocked.CompareExchange(ref early, SignalNumber(context.Signal), 0);
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Hold);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Hold);
        using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Hold);

        var info = new ProcessStartInfo(argv[0]) { UseShellExecute = false }; // stdin, stdout and stderr are inherited
        foreach (var arg in argv.Skip(1)) info.ArgumentList.Add(arg);
        using var listeners = Listen(forwards, (name, value) => info.Environment[name] = value);
        if (listeners is null) return CommandRunner.Failed;
        if (Volatile.Read(ref early) is > 0 and var signal) return SignalExitBase + signal;
        try
        {
            Volatile.Write(ref process, Process.Start(info) ?? throw new InvalidOperationException("it did not start"));
            _ = PortWarmUp.RunAsync();
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            Console.Error.WriteLine($"hivectl: port: cannot run {argv[0]}: {e.Message}");
            return PortCommand.CannotRun;
        }
        using (process)
        {
            process!.WaitForExit();
            // The runtime gives a death by signal as 128 + the signal, as a shell does.
            return process.ExitCode;
        }
    }

    private static int SignalNumber(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        _ => 15,
    };

    /// <summary>
    /// A listener on loopback per forward, each accepting from now on, with the variables COMMAND gets for its port handed
    /// to <paramref name="variable"/>; null (said on stderr) when one cannot listen. Disposing closes them all.
    /// </summary>
    internal static Listeners? Listen(IReadOnlyList<Forward> forwards, Action<string, string> variable)
    {
        var listeners = new Listeners();
        foreach (var forward in forwards)
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listeners.Sockets.Add(listener);
            try
            {
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                listener.Listen(512);
            }
            catch (SocketException e)
            {
                Console.Error.WriteLine($"hivectl: port: cannot listen on 127.0.0.1: {e.Message}");
                listeners.Dispose();
                return null;
            }
            var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            _ = AcceptAsync(listener, forward);
            foreach (var (name, value) in forward.Variables(port)) variable(name, value);
        }
        return listeners;
    }

    internal sealed class Listeners : IDisposable
    {
        public List<Socket> Sockets { get; } = [];

        public void Dispose() => Sockets.ForEach(s => s.Dispose());
    }

    private static async Task AcceptAsync(Socket listener, Forward forward)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync();
            }
            catch (SocketException)
            {
                continue; // one connection that failed while being accepted (reset before accept): the next
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            client.NoDelay = true;
            _ = ServeAsync(client, forward);
        }
    }

    internal static async Task ServeAsync(Socket client, Forward forward)
    {
        var path = forward.Socket;
        using (client)
        {
            using var upstream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await upstream.ConnectAsync(new UnixDomainSocketEndPoint(path));
            }
            catch (SocketException e)
            {
                var why = File.Exists(path) ? e.Message : "it is not there";
                await RefuseAsync(client, $"hive: {forward.What} {path} cannot be reached: {why}");
                return;
            }
            await Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client));
        }
    }

    /// <summary>
    /// One direction: what arrives is sent on at once; the end of it is a half-close of the other side. On Linux the bytes
    /// move by splice(2) and never pass through this process (<see cref="KernelSplice"/>); else by a copy loop whose
    /// buffer is taken only once bytes are waiting (a zero-byte read first), so an idle kept-alive connection holds none.
    /// A failure on either side ends both directions.
    /// </summary>
    private static async Task PumpAsync(Socket from, Socket to)
    {
        byte[]? buffer = null;
        try
        {
            await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
            if (KernelSplice.Usable(from, to))
            {
                await KernelSplice.MoveAsync(from, to, long.MaxValue, _ => { });
                to.Shutdown(SocketShutdown.Send);
                return;
            }
            while (true)
            {
                await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                buffer ??= ArrayPool<byte>.Shared.Rent(BufferBytes);
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0) break;
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                if (from.Available == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Abort(from);
            Abort(to);
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void Abort(Socket socket)
    {
        try
        {
            socket.Close(0); // a reset, not a clean end: the other side must not take a cut stream for a whole one
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// A 502 with <paramref name="message"/>, then the end of our side; what the client still sends is read and dropped
    /// until it closes (closing with its request unread would reset the connection before it reads the answer), for at
    /// most a few seconds.
    /// </summary>
    private static async Task RefuseAsync(Socket client, string message)
    {
        var body = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["type"] = "error", ["error"] = new JsonObject { ["type"] = "api_error", ["message"] = message },
        }.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        var head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: {body.Length}\r\nconnection: close\r\n\r\n");
        try
        {
            await client.SendAsync(head, SocketFlags.None);
            await client.SendAsync(body, SocketFlags.None);
            client.Shutdown(SocketShutdown.Send);
            using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var sink = new byte[4096];
            while (await client.ReceiveAsync(sink, SocketFlags.None, drain.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went, or took too long to: the connection closes either way.
        }
    }
}
