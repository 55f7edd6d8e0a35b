using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Hive.Testing;

/// <summary>
/// A non-loopback address the test owns, reached from the host as any outside server would be: a network namespace held
/// by a child <c>unshare --net sleep</c>, a veth pair <c>hive-t&lt;hex&gt;</c> into it, a random /32 of 198.18.0.0/15 on each
/// end (<see cref="HostEnd"/> on the host, <see cref="Address"/> inside) and a route on the host to the inside one. Servers
/// (<see cref="Listen"/>) live in this process: their sockets are made on a thread that has entered the namespace, then
/// served as any other. Needs a root host with <c>ip</c> and <c>unshare</c> (<see cref="Unavailable"/> says why not).
/// Dispose stops the servers, kills the holder by its pid and removes the link (the kernel removes it too once the
/// namespace is gone).
/// </summary>
public sealed partial class TestNetwork : IDisposable
{
    private const int CloneNewNet = 0x40000000;
    private readonly Process _holder;
    private readonly List<Socket> _listeners = [];
    private readonly CancellationTokenSource _stopping = new();

    private TestNetwork(Process holder, string link, IPAddress hostEnd, IPAddress address)
    {
        _holder = holder;
        Link = link;
        HostEnd = hostEnd;
        Address = address;
    }

    /// <summary>The host's end of the veth (named <c>hive-t&lt;hex&gt;</c>).</summary>
    public string Link { get; }

    /// <summary>The host end's address: one of the host's own while the network lives.</summary>
    public IPAddress HostEnd { get; }

    /// <summary>The address inside the namespace, where <see cref="Listen"/>'s servers are.</summary>
    public IPAddress Address { get; }

    /// <summary>Why this host cannot make a test network (null: it can): a test that needs one returns early with this.</summary>
    public static string? Unavailable { get; } = Probe();

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "not Linux";
        if (!Environment.IsPrivilegedProcess) return "not root: a veth and a network namespace need root";
        foreach (var tool in new[] { "/usr/sbin/ip", "/usr/bin/unshare" })
            if (!File.Exists(tool) && !File.Exists(tool.Replace("/usr", "", StringComparison.Ordinal))) return $"no {tool}";
        return null;
    }

    public static TestNetwork Create()
    {
        if (Unavailable is { } why) throw new InvalidOperationException($"no test network: {why}");
        var holder = Process.Start(new ProcessStartInfo("unshare", ["--net", "sleep", "100000"]) { RedirectStandardError = true })
            ?? throw new InvalidOperationException("unshare did not start");
        var link = "hive-t" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        try
        {
            var ours = NamespaceOf("self");
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (NamespaceOf(holder.Id.ToString()) == ours) // unshare has not yet left the host's namespace
            {
                if (holder.HasExited || DateTime.UtcNow > deadline) throw new InvalidOperationException($"unshare --net did not hold a namespace: {holder.StandardError.ReadToEnd()}");
                Thread.Sleep(5);
            }
            var (hostEnd, inside) = FreeAddresses();
            var ns = $"/proc/{holder.Id}/ns/net";
            Ip($"link add {link} type veth peer name eth0 netns {holder.Id}");
            Ip($"addr add {hostEnd}/32 dev {link}");
            Ip($"link set {link} up");
            Ip($"route add {inside}/32 dev {link}");
            Run("nsenter", $"--net={ns}", "ip", "link", "set", "lo", "up");
            Run("nsenter", $"--net={ns}", "ip", "addr", "add", $"{inside}/32", "dev", "eth0");
            Run("nsenter", $"--net={ns}", "ip", "link", "set", "eth0", "up");
            Run("nsenter", $"--net={ns}", "ip", "route", "add", $"{hostEnd}/32", "dev", "eth0");
            return new TestNetwork(holder, link, hostEnd, inside);
        }
        catch
        {
            Stop(holder, link);
            throw;
        }
    }

    /// <summary>
    /// A TCP server at <see cref="Address"/>: its listening socket is made inside the namespace, then each connection is
    /// handed to <paramref name="serve"/> (which owns it). Returns its end point.
    /// </summary>
    public IPEndPoint Listen(Func<Socket, Task> serve, int port = 0)
    {
        Socket? listener = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            // setns moves only this thread; it goes back before it ends, and the socket stays in the namespace it was made in.
            using var home = File.OpenHandle("/proc/thread-self/ns/net");
            using var target = File.OpenHandle($"/proc/{_holder.Id}/ns/net");
            if (SetNs((int)target.DangerousGetHandle(), CloneNewNet) != 0) { failure = new InvalidOperationException($"setns: errno {Marshal.GetLastPInvokeError()}"); return; }
            try
            {
                listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(Address, port));
                listener.Listen(512);
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                if (SetNs((int)home.DangerousGetHandle(), CloneNewNet) != 0) Environment.FailFast("setns back to the host's network failed");
            }
        })
        { IsBackground = true, Name = "test-network-listen" };
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
        lock (_listeners) _listeners.Add(listener!);
        _ = AcceptAsync(listener!, serve);
        return (IPEndPoint)listener!.LocalEndPoint!;
    }

    private async Task AcceptAsync(Socket listener, Func<Socket, Task> serve)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    await serve(connection);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
                {
                }
                finally
                {
                    connection.Dispose();
                }
            });
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        lock (_listeners) foreach (var listener in _listeners) listener.Dispose();
        Stop(_holder, Link);
    }

    private static void Stop(Process holder, string link)
    {
        try
        {
            if (!holder.HasExited) holder.Kill();
            holder.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
        holder.Dispose();
        // Gone with the namespace as a rule; removed here in case a socket still holds the namespace.
        if (Directory.Exists($"/sys/class/net/{link}")) Run("ip", ["link", "del", link], check: false);
    }

    /// <summary>Two addresses of 198.18.0.0/15 no interface of the host has.</summary>
    private static (IPAddress HostEnd, IPAddress Inside) FreeAddresses()
    {
        var taken = Run("ip", ["-br", "addr"]);
        while (true)
        {
            var bytes = RandomNumberGenerator.GetBytes(3);
            var third = (byte)(bytes[1] | 1); // never .0 nor, below, .255
            var hostEnd = new IPAddress([198, (byte)(18 + (bytes[0] & 1)), third, (byte)(1 + bytes[2] % 126)]);
            var inside = new IPAddress([198, hostEnd.GetAddressBytes()[1], third, (byte)(128 + bytes[2] % 126)]);
            if (!taken.Contains(hostEnd + "/", StringComparison.Ordinal) && !taken.Contains(inside + "/", StringComparison.Ordinal)) return (hostEnd, inside);
        }
    }

    private static string NamespaceOf(string pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/ns/net").LinkTarget ?? "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static void Ip(string args) => Run("ip", args.Split(' '));

    private static string Run(string file, params string[] args) => Run(file, args, check: true);

    private static string Run(string file, string[] args, bool check)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (check && process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error.Trim()}");
        return output;
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}
