using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Host.Storage;

/// <summary>
/// <c>POST /api/backup</c> (what <c>hivectl backup</c> calls), taken while three agents send with client ids: the backup is a
/// data dir that passes <c>PRAGMA integrity_check</c>, and a host started on it (the documented restore: the backup put in
/// place of the data dir) holds every message whose send was acknowledged before the backup began. Bad input changes nothing.
/// </summary>
public sealed class BackupTests : IAsyncLifetime
{
    private static readonly string[] Senders = ["alice", "bob", "carol"];
    private static readonly string[] Agents = [.. Senders, "sink"];
    private readonly string _root = Directory.CreateTempSubdirectory("hive-backup-").FullName;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(Agents);

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        SqliteConnection.ClearAllPools();
        await TestDirectories.DeleteAsync(_root);
    }

    [Fact]
    public async Task A_backup_taken_while_agents_send_restores_into_a_hive_that_holds_every_acknowledged_message()
    {
        // A reader of an old snapshot (any long read: a search, the dashboard's cold load) holds WAL checkpoints back, so what
        // is committed from here on lives in hive.db-wal alone until it ends: a copy of hive.db would miss every send below.
        using var reader = new SqliteConnection($"Data Source={_hive.DatabasePath};Pooling=False");
        reader.Open();
        using (var begin = reader.CreateCommand())
        {
            begin.CommandText = "BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema;";
            begin.ExecuteScalar();
        }
        var acknowledged = new ConcurrentDictionary<string, long>();
        using var stop = new CancellationTokenSource();
        var sending = Senders.Select(sender => Task.Run(async () =>
        {
            await using var client = await _hive.ConnectAsync(sender);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = $"{sender}-{i}";
                var reply = await client.CallAsync(new { op = "send", to = "sink", body = id, client_id = id });
                acknowledged[id] = AgentClient.Ok(reply).GetProperty("id").GetInt64();
            }
        })).ToList();

        // Enough sends that the database's last pages are still in its WAL (a copy of hive.db alone would miss them).
        await HiveInstance.Until(() => acknowledged.Count >= 400 || sending.Any(t => t.IsCompleted), TimeSpan.FromSeconds(120), "400 acknowledged sends");
        var before = acknowledged.Keys.ToHashSet();
        var to = Path.Combine(_root, "backup");
        using var response = await _hive.Http.PostAsJsonAsync("/api/backup", new { to });
        var text = await response.Content.ReadAsStringAsync();
        // The senders go on until the backup has answered and a few more sends land after it.
        var atAnswer = acknowledged.Count;
        await HiveInstance.Until(() => acknowledged.Count >= atAnswer + 30 || sending.Any(t => t.IsCompleted), TimeSpan.FromSeconds(60), "sends after the backup");
        stop.Cancel();
        await Task.WhenAll(sending);
        using (var end = reader.CreateCommand())
        {
            end.CommandText = "ROLLBACK;";
            end.ExecuteNonQuery();
        }
        reader.Close();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");

        var taken = JsonDocument.Parse(text).RootElement;
        Assert.Equal(to, taken.GetProperty("path").GetString());
        Assert.Equal("ok", taken.GetProperty("integrity").GetString());
        var parts = taken.GetProperty("parts").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.Contains("database", parts);
        Assert.Contains("meta", parts);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(to));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(to, "hive.db")));
        Assert.False(File.Exists(Path.Combine(to, "hive.db-wal")), "the backup is one file, not a database and its WAL");
        Assert.Equal("ok", IntegrityCheck(Path.Combine(to, "hive.db")));

        // The restore, as docs/operator/deploying.md says it: the host stopped, the backup put in place of its data dir, a host started on it.
        await _hive.DisposeAsync();
        var restoredDir = Path.Combine(_root, "restored");
        await CopyAsync(to, restoredDir);
        await using var restored = await HostProcess.StartAsync(restoredDir, Agents);
        var received = new HashSet<string>();
        await using (var sink = await restored.ConnectAsync("sink"))
        {
            while (await sink.RecvAndAckAsync(2000) is { } message) received.Add(message.GetProperty("body").GetString()!);
        }
        var missing = before.Where(id => !received.Contains(id)).OrderBy(id => id, StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0,
            $"{missing.Count} of the {before.Count} sends acknowledged before the backup are not in the restored hive: {string.Join(", ", missing.Take(20))}");
        // Nothing the hive never acknowledged either: every message in the restored hive was a send that was.
        Assert.All(received, id => Assert.True(acknowledged.ContainsKey(id), $"{id} was never acknowledged"));
        // The restored host's own database passes the check too, and the meta repo came back as a repo git reads.
        Assert.Equal("ok", IntegrityCheck(Path.Combine(restoredDir, "hive.db")));
        Assert.True(Directory.Exists(Path.Combine(restoredDir, "meta", ".git")));
    }

    [Fact]
    public async Task A_backup_with_a_bad_destination_is_a_problem_and_makes_nothing()
    {
        var existing = Directory.CreateDirectory(Path.Combine(_root, "there-already")).FullName;
        (object Body, string Says)[] cases =
        [
            (new { to = "relative/dir" }, "absolute path"),
            (new { to = existing }, "exists already"),
            (new { to = Path.Combine(_root, "no-such-parent", "backup") }, "does not exist"),
            (new { to = Path.Combine(_hive.DataDir, "shared", "backup") }, "outside the data dir"),
            (new { to = Path.GetDirectoryName(_hive.DataDir)! }, "outside the data dir"),
        ];
        foreach (var (body, says) in cases)
        {
            using var response = await _hive.Http.PostAsJsonAsync("/api/backup", body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(body)}: {(int)response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(says, text);
        }
        using (var notJson = await _hive.Http.PostAsync("/api/backup", new StringContent("to=/tmp/x")))
            Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(existing));
        Assert.False(Directory.Exists(Path.Combine(_root, "no-such-parent")));
        Assert.False(Directory.Exists(Path.Combine(_hive.DataDir, "shared", "backup")));
        Assert.False(Directory.Exists(Path.Combine(_hive.DataDir, "backups")));

        // Without a destination: a new dir under <DataDir>/backups, as the operator's CLI makes it.
        var cli = await Hive.Tests.Cli.Hivectl.RunAsync(["backup", "--url", _hive.BaseAddress.ToString(), "--json"],
            new Dictionary<string, string> { ["HIVE_TOKEN"] = _hive.Token! });
        Assert.True(cli.ExitCode == 0, cli.ToString());
        var path = cli.Json.GetProperty("path").GetString()!;
        Assert.Equal(Path.Combine(_hive.DataDir, "backups"), Path.GetDirectoryName(path));
        Assert.Equal("ok", IntegrityCheck(Path.Combine(path, "hive.db")));
    }

    private static string IntegrityCheck(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check;";
        return (string)command.ExecuteScalar()!;
    }

    private static async Task CopyAsync(string from, string to)
    {
        using var copy = Process.Start("cp", ["-a", from, to]) ?? throw new InvalidOperationException("cp did not start");
        await copy.WaitForExitAsync();
        Assert.Equal(0, copy.ExitCode);
    }
}
