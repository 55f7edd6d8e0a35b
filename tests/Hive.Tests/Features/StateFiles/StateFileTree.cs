using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Hive.Tests.Features.StateFiles;

/// <summary>
/// A real directory tree planted in a hive's data dir: allowed files, secrets, files outside the roots, and every
/// kind of symlink and special file an attacker could plant. Each forbidden file holds a unique marker, so a test
/// can assert that not one byte of it ever reaches a response.
/// </summary>
public sealed partial class StateFileTree : IDisposable
{
    public const string OutsideMarker = "TOP-SECRET-OUTSIDE-7f3a";
    public const string PrivateMarker = "PRIVATE-NOT-STATE-91bc";
    public const string TokenMarker = "FORGE-TOKEN-SECRET-55de";
    public const string KeyMarker = "PRIVATE-KEY-MATERIAL-c0ff";
    public const string EvilMarker = "PREFIX-CONFUSION-EVIL-1d2e";

    public static readonly string[] ForbiddenMarkers = [OutsideMarker, PrivateMarker, TokenMarker, KeyMarker, EvilMarker, "root:x:0:0"];

    public StateFileTree(string dataDir)
    {
        DataDir = dataDir;
        Alice = Path.Combine(dataDir, "agents", "alice", "state");
        Shared = Path.Combine(dataDir, "shared");
        Outside = Path.Combine(dataDir, "outside");
        Directory.CreateDirectory(Alice);
        Directory.CreateDirectory(Shared);
        Directory.CreateDirectory(Outside);
        Directory.CreateDirectory(Path.Combine(Alice, "notes"));
        Directory.CreateDirectory(Path.Combine(Alice, "subdir"));

        Write(Path.Combine(Alice, "plan.md"), "# the plan\nstep one");
        Write(Path.Combine(Alice, "notes", "README"), "readme without extension");
        Write(Path.Combine(Alice, "Makefile"), "all:\n\ttrue");
        Write(Path.Combine(Alice, "x.md"), "x");
        Write(Path.Combine(Alice, "x.md.bak"), "x backup");
        Write(Path.Combine(Alice, "page.html"), "<script>alert(1)</script>");
        File.WriteAllBytes(Path.Combine(Alice, "exactly-1mib.bin"), Filled(1024 * 1024));
        File.WriteAllBytes(Path.Combine(Alice, "over-1mib.bin"), Filled(1024 * 1024 + 1));
        Write(Path.Combine(Shared, "doc.md"), "shared doc");

        Write(Path.Combine(Alice, "forge-token"), TokenMarker);
        Write(Path.Combine(Alice, "FORGE-TOKEN"), TokenMarker);
        Write(Path.Combine(Alice, "server.key"), KeyMarker);
        Write(Path.Combine(Alice, "cert.PEM"), KeyMarker);
        Write(Path.Combine(Alice, "id_rsa"), KeyMarker);
        Write(Path.Combine(Alice, "id_ed25519.pub"), KeyMarker);
        Write(Path.Combine(Alice, ".credentials.json"), KeyMarker);

        Write(Path.Combine(Outside, "secret.txt"), OutsideMarker);
        Write(Path.Combine(dataDir, "agents", "alice", "private.txt"), PrivateMarker);
        Directory.CreateDirectory(Path.Combine(dataDir, "agents", "alice", "state-evil"));
        Write(Path.Combine(dataDir, "agents", "alice", "state-evil", "x.md"), EvilMarker);
        Directory.CreateDirectory(Path.Combine(dataDir, "sharedx"));
        Write(Path.Combine(dataDir, "sharedx", "doc.md"), EvilMarker);

        Link("esc-abs", "/etc/passwd");
        Link("esc-rel", "../../../outside/secret.txt");
        Link("esc-dir", Outside);
        Link("esc-parent", "..");
        Link("esc-root", "/");
        Link("loop-a", "loop-b");
        Link("loop-b", "loop-a");
        Link("self", "self");
        Link("dev-zero", "/dev/zero");
        Link("proc-environ", "/proc/self/environ");
        Link("proc-root", "/proc/self/root/etc/passwd");
        Link("token-link", "forge-token");
        Link("ok-link", "plan.md");
        Link("ok-abs-link", Path.Combine(Alice, "plan.md"));
        Link("ok-dir-link", "notes");
        Link("dangling", "/nonexistent-" + Guid.NewGuid().ToString("N"));
        File.CreateSymbolicLink(Path.Combine(Alice, "subdir", "up"), "../../private.txt");

        Run("mkfifo", Path.Combine(Alice, "fifo"));
        // Kept open: .NET unlinks a bound socket's file when the socket is disposed.
        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(Alice, "sock")));

        // carol's whole state dir is a symlink out of the data dir.
        Directory.CreateDirectory(Path.Combine(dataDir, "agents", "carol"));
        Directory.CreateSymbolicLink(Path.Combine(dataDir, "agents", "carol", "state"), Outside);
    }

    private readonly Socket _socket;

    public string DataDir { get; }
    public string Alice { get; }
    public string Shared { get; }
    public string Outside { get; }

    public void Dispose() => _socket.Dispose();

    /// <summary>rename(2): atomically replaces <paramref name="to"/>, whatever it is (file, link, link to a dir).</summary>
    public static void Rename(string from, string to)
    {
        if (RenameNative(from, to) != 0) throw new IOException($"rename {from} -> {to} failed: {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    /// <summary>renameat2(RENAME_EXCHANGE): atomically swaps two entries (a real dir and a symlink, say).</summary>
    public static void Exchange(string a, string b)
    {
        const int AtFdCwd = -100, RenameExchange = 2;
        if (RenameAt2(AtFdCwd, a, AtFdCwd, b, RenameExchange) != 0)
            throw new IOException($"exchange {a} <-> {b} failed: {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int RenameAt2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int RenameNative(string from, string to);

    private void Link(string name, string target) => File.CreateSymbolicLink(Path.Combine(Alice, name), target);

    private static void Write(string path, string text) => File.WriteAllText(path, text, new UTF8Encoding(false));

    private static byte[] Filled(int length)
    {
        var bytes = new byte[length];
        Array.Fill(bytes, (byte)'a');
        return bytes;
    }

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(file, args);
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} failed");
    }
}
