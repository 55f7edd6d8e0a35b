using Microsoft.Data.Sqlite;

namespace Hive.Tests.Host.Storage;

/// <summary>
/// Each storage or data-dir problem the host cannot start with: the built host exits non-zero with one line that
/// names the path (no SIGABRT, no stack trace), and leaves what it found as it was.
/// </summary>
public sealed class StartupFailureTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-start-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    private string Db => Path.Combine(_dataDir, "hive.db");
    private string Marker => Path.Combine(_dataDir, "hive.initialized");

    [Fact]
    public async Task A_corrupt_database_is_refused_with_one_line_naming_it()
    {
        Directory.CreateDirectory(_dataDir);
        var garbage = Enumerable.Range(0, 8192).Select(i => (byte)(i * 7 + 13)).ToArray();
        File.WriteAllBytes(Db, garbage);

        await StartupRefusal.ExpectAsync(_dataDir, ["alice"], Db, "not a usable SQLite database");
        Assert.Equal(garbage, File.ReadAllBytes(Db)); // untouched: the operator may still recover it
    }

    [Fact]
    public async Task A_directory_at_hive_db_is_refused()
    {
        Directory.CreateDirectory(Db);
        await StartupRefusal.ExpectAsync(_dataDir, ["alice"], Db, "is a directory");
    }

    [Fact]
    public async Task A_file_at_run_is_refused()
    {
        Directory.CreateDirectory(_dataDir);
        File.WriteAllText(Path.Combine(_dataDir, "run"), "not a dir");
        await StartupRefusal.ExpectAsync(_dataDir, ["alice"], Path.Combine(_dataDir, "run"), "not a directory");
    }

    [Fact]
    public async Task A_directory_at_an_agent_socket_path_is_refused_by_name_not_as_address_in_use()
    {
        var socket = Path.Combine(_dataDir, "run", "alice.sock");
        Directory.CreateDirectory(socket);
        var line = await StartupRefusal.ExpectAsync(_dataDir, ["alice"], socket, "is a directory");
        Assert.DoesNotContain("already in use", line);
        Assert.True(Directory.Exists(socket));
    }

    [Fact]
    public async Task A_socket_path_over_the_kernel_limit_is_refused()
    {
        // Every socket under this dir (the manager's first) is well over 107 bytes.
        var deep = Path.Combine(_dataDir, new string('d', 100));
        await StartupRefusal.ExpectAsync(deep, ["alice"], Path.Combine(deep, "run") + "/", ".sock is ", "over the kernel's limit");
    }

    [Fact]
    public async Task A_read_only_data_dir_is_refused()
    {
        await using var tmpfs = TmpfsMount.Create("8m");
        var dataDir = Path.Combine(tmpfs.Path, "hive");
        Directory.CreateDirectory(dataDir);
        tmpfs.RemountReadOnly();
        await StartupRefusal.ExpectAsync(dataDir, ["alice"], dataDir, "Read-only file system");
    }

    [Fact]
    public async Task A_read_only_database_file_is_refused()
    {
        // A used hive whose hive.db is then made read-only (a bind mount: root ignores file modes).
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice"])) await host.TerminateAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, StartupRefusal.Run("mount", "--bind", Db, Db).ExitCode);
        try
        {
            var (code, error) = StartupRefusal.Run("mount", "-o", "remount,bind,ro", Db);
            Assert.True(code == 0, $"cannot remount {Db} read-only: {error}");
            await StartupRefusal.ExpectAsync(_dataDir, ["alice"], Db);
        }
        finally
        {
            StartupRefusal.Run("umount", Db);
        }
    }

    [Fact]
    public async Task A_listen_address_another_process_holds_ends_with_one_line_naming_it_not_an_abort()
    {
        // Kestrel binds only once the hosted services are starting, so the hosting log's own error comes first; what
        // matters is the exit (1, not SIGABRT's 134 from an unhandled exception) and a last line that says what to do.
        using var other = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, HostProcess.FreePort());
        other.Start();
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)other.LocalEndpoint).Port}";

        var (exitCode, output, errors) = await HostProcess.RunToExitWithErrorsAsync(TimeSpan.FromSeconds(60), HiveInstance.ArgsFor(_dataDir, ["alice"], url));

        Assert.Equal(1, exitCode);
        // The last line on stderr (the log on stdout is drained beside it, so the two interleave in any order).
        var last = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        Assert.StartsWith("hive: ", last);
        Assert.Contains(url, last);
        Assert.Contains("--urls", last);
        Assert.DoesNotContain("Unhandled exception", output);
    }

    [Fact]
    public async Task An_emptied_database_in_a_used_data_dir_is_refused_and_says_how_to_proceed()
    {
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]))
        {
            await using var alice = await host.ConnectAsync("alice");
            for (var i = 0; i < 5; i++) await alice.SendAsync("bob", $"before {i}");
            await host.TerminateAsync(TimeSpan.FromSeconds(20));
        }
        Assert.True(File.Exists(Marker));
        SqliteConnection.ClearAllPools();
        foreach (var suffix in (string[])["-wal", "-shm"]) File.Delete(Db + suffix);
        File.WriteAllBytes(Db, []);

        await StartupRefusal.ExpectAsync(_dataDir, ["alice", "bob"], Db, "empty", Marker);
        Assert.Equal(0, new FileInfo(Db).Length); // still as found

        // A schema-less database is as lost as an empty one.
        using (var connection = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE something_else (x INTEGER)";
            command.ExecuteNonQuery();
        }
        await StartupRefusal.ExpectAsync(_dataDir, ["alice", "bob"], Db, "no hive schema", Marker);

        // Deleting the marker is the way to start a new, empty hive there on purpose.
        File.Delete(Db);
        File.Delete(Marker);
        await using var fresh = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]);
        Assert.True(File.Exists(Marker));
    }

    [Fact]
    public async Task A_new_data_dir_writes_the_marker_and_a_missing_database_is_then_refused()
    {
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice"])) await host.TerminateAsync(TimeSpan.FromSeconds(20));
        Assert.True(File.Exists(Marker));
        SqliteConnection.ClearAllPools();
        foreach (var suffix in (string[])["", "-wal", "-shm"]) File.Delete(Db + suffix);
        await StartupRefusal.ExpectAsync(_dataDir, ["alice"], Db, "missing", Marker);
        Assert.False(File.Exists(Db));
    }
}
