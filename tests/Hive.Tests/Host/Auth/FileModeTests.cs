using System.Collections.Concurrent;
using Hive.Host.Auth;
using Hive.Shared.Errors;

namespace Hive.Tests.Host.Auth;

/// <summary>
/// The data dir, the agents' dirs, the database and the token are the host user's alone, whatever the umask. A host
/// of its own per test: each checks the files a start creates (or narrows), some under another umask.
/// </summary>
public sealed class FileModeTests
{
    private const UnixFileMode Dir0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8);

    private static void AssertModes(string dataDir, params string[] agents)
    {
        var expected = new List<(string Path, UnixFileMode Mode)>
        {
            (dataDir, Dir0700),
            (Path.Combine(dataDir, "agents"), Dir0700),
            (Path.Combine(dataDir, "shared"), Dir0700),
            (Path.Combine(dataDir, "run"), Dir0700),
            (Path.Combine(dataDir, "hive.db"), File0600),
            (Path.Combine(dataDir, "hive.db-wal"), File0600),
            (Path.Combine(dataDir, "hive.db-shm"), File0600),
            (Path.Combine(dataDir, OperatorToken.FileName), File0600),
            (Path.Combine(dataDir, OperatorToken.SignInLinkFileName), File0600),
        };
        foreach (var agent in agents)
        {
            expected.Add((Path.Combine(dataDir, "agents", agent), Dir0700));
            expected.Add((Path.Combine(dataDir, "agents", agent, "state"), Dir0700));
            expected.Add((Path.Combine(dataDir, "run", agent + ".sock"), File0600));
        }
        var wrong = expected
            .Select(e => (e.Path, e.Mode, Actual: File.Exists(e.Path) || Directory.Exists(e.Path) ? File.GetUnixFileMode(e.Path) : (UnixFileMode?)null))
            .Where(e => e.Actual != e.Mode)
            .Select(e => $"{e.Path}: {(e.Actual is { } a ? Octal(a) : "missing")}, expected {Octal(e.Mode)}")
            .ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public async Task A_new_hive_makes_its_files_private()
    {
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"]);
        await using var alice = await hive.ConnectAsync("alice");
        await alice.SendAsync("bob", "written to the WAL");
        AssertModes(hive.DataDir, "manager", "alice", "bob");

        var token = (await File.ReadAllTextAsync(Path.Combine(hive.DataDir, OperatorToken.FileName))).Trim();
        Assert.Equal(hive.Token, token);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", token); // 32 random bytes, base64url
    }

    [Fact]
    public async Task Modes_hold_under_a_umask_that_allows_everything()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "hive-umask-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            await using var host = await HostProcess.StartAsync(dataDir, ["alice"], umask: "000");
            await using var alice = await host.ConnectAsync("alice");
            await alice.SendAsync("manager", "written to the WAL");
            AssertModes(dataDir, "manager", "alice");
        }
        finally
        {
            try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task An_older_hives_open_files_are_narrowed_at_start()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"]);
        await using (var alice = await hive.ConnectAsync("alice")) await alice.SendAsync("manager", "before");
        var token = hive.Token;

        // As an older hive left them (pooled connections keep -wal and -shm in place across the restart).
        var dirs = new[] { hive.DataDir, Path.Combine(hive.DataDir, "agents"), Path.Combine(hive.DataDir, "agents", "alice"), Path.Combine(hive.DataDir, "agents", "alice", "state") };
        const UnixFileMode open755 = Dir0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        const UnixFileMode open644 = File0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        foreach (var dir in dirs) File.SetUnixFileMode(dir, open755);
        foreach (var file in (string[])["hive.db", "hive.db-wal", "hive.db-shm", OperatorToken.FileName])
            if (File.Exists(Path.Combine(hive.DataDir, file))) File.SetUnixFileMode(Path.Combine(hive.DataDir, file), open644);

        await hive.RestartAsync();
        AssertModes(hive.DataDir, "manager", "alice");
        Assert.Equal(token, hive.Token); // the same token, still valid
        Assert.Contains(hive.Logs.Lines, l => l.Text.Contains("was readable by other users; it is now 0600", StringComparison.Ordinal));
    }

    [Fact]
    public void Concurrent_creators_agree_on_one_token_and_leave_no_temp_files()
    {
        for (var round = 0; round < 20; round++)
        {
            var dir = Directory.CreateTempSubdirectory("hive-token-").FullName;
            try
            {
                var tokens = new ConcurrentBag<string>();
                using var start = new Barrier(8);
                var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
                {
                    start.SignalAndWait();
                    tokens.Add(OperatorToken.ReadOrCreate(dir, out _));
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());

                Assert.Single(tokens.Distinct());
                Assert.Equal(tokens.First(), File.ReadAllText(Path.Combine(dir, OperatorToken.FileName)).Trim());
                Assert.Equal(File0600, File.GetUnixFileMode(Path.Combine(dir, OperatorToken.FileName)));
                Assert.Equal([OperatorToken.FileName], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public void A_token_file_written_by_hand_is_read_trimmed_and_a_bad_one_refused()
    {
        var dir = Directory.CreateTempSubdirectory("hive-token-").FullName;
        try
        {
            var path = Path.Combine(dir, OperatorToken.FileName);
            File.WriteAllText(path, "  my-own-long-operator-token\n\n");
            File.SetUnixFileMode(path, File0600);
            Assert.Equal("my-own-long-operator-token", OperatorToken.ReadOrCreate(dir, out var narrowed));
            Assert.False(narrowed);

            File.WriteAllText(path, "short\n");
            var refused = Assert.Throws<HiveStartupException>(() => OperatorToken.ReadOrCreate(dir, out _));
            Assert.Contains("shorter than 16", refused.Message);
            Assert.DoesNotContain("short\n", refused.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
