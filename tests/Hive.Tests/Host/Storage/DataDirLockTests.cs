using System.Net.Sockets;
using Hive.Shared.Errors;

namespace Hive.Tests.Host.Storage;

/// <summary>
/// One host per data dir: a second host refuses at once and changes nothing (the first one's agents stay connected
/// and served), and no host ever unlinks a socket path another process listens on.
/// </summary>
public sealed class DataDirLockTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-lock-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    private string SocketOf(string agent) => Path.Combine(_dataDir, "run", agent + ".sock");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_second_host_on_the_same_data_dir_refuses_and_the_first_keeps_serving(bool samePort)
    {
        await using var first = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]);
        await using var alice = await first.ConnectAsync("alice");
        await using var bob = await first.ConnectAsync("bob");
        await alice.SendAsync("bob", "before");
        var files = Directory.GetFiles(_dataDir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => (File.GetLastWriteTimeUtc(f), new FileInfo(f).Length));

        var url = samePort ? first.BaseAddress.ToString().TrimEnd('/') : $"http://127.0.0.1:{HostProcess.FreePort()}";
        var (exitCode, output) = await HostProcess.RunToExitAsync(TimeSpan.FromSeconds(60), HiveInstance.ArgsFor(_dataDir, ["alice", "bob"], url));

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEqual(0, exitCode);
        Assert.True(lines.Length == 1, output);
        Assert.StartsWith("hive: another host", lines[0]);
        Assert.Contains(_dataDir, lines[0]);
        Assert.Contains("hive.lock", lines[0]);

        // Nothing of the first host's was touched: its sockets are there, its connections and new ones are served.
        Assert.True(File.Exists(SocketOf("alice")) && File.Exists(SocketOf("bob")));
        foreach (var (file, (written, length)) in files)
            if (!file.EndsWith("hive.db-wal", StringComparison.Ordinal) && !file.EndsWith("hive.db-shm", StringComparison.Ordinal))
                Assert.True(File.Exists(file) && File.GetLastWriteTimeUtc(file) == written && new FileInfo(file).Length == length, file);
        Assert.Equal("alice", (await alice.CallAsync(new { op = "whoami" })).GetProperty("name").GetString());
        await alice.SendAsync("bob", "after");
        await using var again = await first.ConnectAsync("alice");
        Assert.Equal("alice", (await again.CallAsync(new { op = "whoami" })).GetProperty("name").GetString());
        using var http = first.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/state")).StatusCode);
        Assert.False(first.HasExited);
    }

    [Fact]
    public async Task The_lock_is_released_when_the_host_stops_so_the_next_one_starts()
    {
        await using (var first = await HostProcess.StartAsync(_dataDir, ["alice"])) await first.KillAsync();
        await using var second = await HostProcess.StartAsync(_dataDir, ["alice"]); // after a SIGKILL too
        await using var alice = await second.ConnectAsync("alice");
        Assert.Equal("alice", (await alice.CallAsync(new { op = "whoami" })).GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_live_listener_of_another_process_at_an_agent_socket_is_refused_and_left_alone()
    {
        Directory.CreateDirectory(Path.Combine(_dataDir, "run"));
        using var foreign = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        foreign.Bind(new UnixDomainSocketEndPoint(SocketOf("alice")));
        foreign.Listen(4);

        await StartupRefusal.ExpectAsync(_dataDir, ["alice"], SocketOf("alice"), "another process is listening");

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await probe.ConnectAsync(new UnixDomainSocketEndPoint(SocketOf("alice"))); // still the foreign listener's
        using var accepted = await foreign.AcceptAsync();
    }

    [Fact]
    public async Task A_stale_socket_file_nobody_listens_on_is_replaced()
    {
        Directory.CreateDirectory(Path.Combine(_dataDir, "run"));
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // .NET unlinks the path it bound when the socket is disposed: bind elsewhere and move the file into place.
            var elsewhere = Path.Combine(_dataDir, "run", "stale");
            stale.Bind(new UnixDomainSocketEndPoint(elsewhere));
            stale.Listen(1);
            File.Move(elsewhere, SocketOf("alice"));
        } // closed: the file stays, as after a crash
        Assert.True(File.Exists(SocketOf("alice")));

        await using var host = await HostProcess.StartAsync(_dataDir, ["alice"]);
        await using var alice = await host.ConnectAsync("alice");
        Assert.Equal("alice", (await alice.CallAsync(new { op = "whoami" })).GetProperty("name").GetString());
    }

    [Fact]
    public async Task On_shutdown_the_host_removes_only_the_socket_files_it_created()
    {
        var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]);
        Socket? foreign = null;
        try
        {
            // Someone else takes alice's path while the host runs; the host's own file for bob is its own.
            File.Delete(SocketOf("alice"));
            foreign = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            foreign.Bind(new UnixDomainSocketEndPoint(SocketOf("alice")));
            foreign.Listen(4);

            await host.TerminateAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(0, host.ExitCode);
            Assert.False(File.Exists(SocketOf("bob")));
            Assert.True(File.Exists(SocketOf("alice")));
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(SocketOf("alice")));
        }
        finally
        {
            foreign?.Dispose();
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task In_process_a_second_hive_on_the_same_dir_is_refused_and_the_first_restarts_fine()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"]);
        var refused = Assert.ThrowsAny<Hive.Shared.Errors.HiveStartupException>(() =>
            Hive.Host.HiveHost.Build(HiveInstance.ArgsFor(hive.DataDir, ["alice"])));
        Assert.Contains("another host", refused.Message);
        await hive.RestartAsync(); // the lock goes with the host and comes back with the next one
        await using var alice = await hive.ConnectAsync("alice");
        Assert.Equal("alice", (await alice.CallAsync(new { op = "whoami" })).GetProperty("name").GetString());
    }
}
