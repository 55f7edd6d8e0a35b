using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Reminders;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Host.Storage;

/// <summary>
/// Storage faults while the host runs: a full disk is <c>storage_full</c> (507) and a read-only database
/// <c>storage_unavailable</c> (503) on the socket and over HTTP, <c>/healthz</c> says degraded, and once storage works
/// again the host recovers with nothing it acknowledged lost.
/// </summary>
public sealed class StorageFaultTests
{
    [Fact]
    public async Task A_full_disk_is_storage_full_on_socket_and_http_and_the_host_recovers_when_space_returns()
    {
        await using var tmpfs = TmpfsMount.Create("24m");
        var dataDir = Path.Combine(tmpfs.Path, "hive");
        var filler = Path.Combine(tmpfs.Path, "filler");
        var acknowledged = new List<long>();
        await using (var host = await HostProcess.StartAsync(dataDir, ["alice", "bob"]))
        {
            await using var alice = await host.ConnectAsync("alice");
            using var http = host.CreateClient();
            for (var i = 0; i < 20; i++) acknowledged.Add(await alice.SendAsync("bob", $"before {i}"));
            Assert.Equal("ok", (await HealthAsync(http)).GetProperty("status").GetString());

            Fill(filler);

            // The WAL may still have room for a while: send until the disk says no (bounded by count and time).
            var body = new string('x', 1000);
            JsonElement failure = default;
            var deadline = DateTime.UtcNow.AddSeconds(90);
            for (var i = 0; ; i++)
            {
                Assert.True(DateTime.UtcNow < deadline && i < 100_000, "sends kept succeeding on a full disk");
                var reply = await alice.CallAsync(new { op = "send", to = "bob", body });
                if (reply.GetProperty("ok").GetBoolean()) { acknowledged.Add(reply.Deserialize<SendReply>(HiveJson.Options)!.Id); continue; }
                failure = reply;
                break;
            }
            Assert.True(failure.Deserialize<Refusal>(HiveJson.Options)!.Code == "storage_full", failure.ToString());

            using (var response = await http.PostAsJsonAsync("/api/messages", new { to = "bob", body = "from the operator" }))
            {
                Assert.Equal((HttpStatusCode)507, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                var problem = Problem.Of(await response.Content.ReadFromJsonAsync<JsonElement>());
                Assert.Equal("storage_full", problem.Code);
            }

            var health = await HealthAsync(http, signedIn: false);
            Assert.Equal("degraded", health.GetProperty("status").GetString());
            Assert.Equal("storage_full", health.GetProperty("code").GetString());
            Assert.Contains("storage_full", health.GetProperty("reason").GetString());
            await host.OutputContainsAsync($"storage fault (storage_full) on the database {Path.Combine(dataDir, "hive.db")}");

            // Space returns: the next sends are stored, and /healthz is ok again.
            File.Delete(filler);
            var recovered = await SendUntilOkAsync(alice);
            acknowledged.Add(recovered);
            using (var response = await http.PostAsJsonAsync("/api/messages", new { to = "bob", body = "from the operator, again" }))
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal("ok", (await HealthAsync(http)).GetProperty("status").GetString());

            await host.TerminateAsync(TimeSpan.FromSeconds(30));
        }

        // Nothing acknowledged is lost, across the fault and a restart.
        SqliteConnection.ClearAllPools();
        var stored = HiveInstance.QueryDbList<long>(dataDir, "SELECT id FROM messages").ToHashSet();
        var lost = acknowledged.Where(id => !stored.Contains(id)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged sends lost: {string.Join(", ", lost.Take(20))}");
        Assert.Equal("ok", HiveInstance.QueryDb<string>(dataDir, "PRAGMA integrity_check"));
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task A_read_only_database_is_storage_unavailable_on_socket_and_http_and_recovers()
    {
        var readOnly = new ReadOnlySwitch();
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"], services =>
            services.AddSingleton<IDb>(p => new SwitchableDb(p.GetRequiredService<SqliteDb>(), p.GetRequiredService<Hive.Shared.HivePaths>().Database, readOnly)));
        await using var alice = await hive.ConnectAsync("alice");
        var reminderId = (await alice.CallAsync(ReminderVerbs.Remind, InAnHour("later"))).Id;

        readOnly.On = true;
        var refused = await alice.RefusalOfAsync(ReminderVerbs.Remind, InAnHour("refused"));
        Assert.Equal("storage_unavailable", refused.Code);

        using (var response = await hive.Http.PostAsync($"/api/reminders/{reminderId}/retry", null))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("storage_unavailable", Problem.Of(await response.Content.ReadFromJsonAsync<JsonElement>()).Code);
        }
        using var anonymous = hive.CreateClient(signedIn: false);
        var health = await HealthAsync(anonymous, signedIn: false);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Equal("storage_unavailable", health.GetProperty("code").GetString());

        readOnly.On = false;
        await alice.CallAsync(ReminderVerbs.Remind, InAnHour("accepted")); // throws unless ok
        Assert.Equal("ok", (await HealthAsync(anonymous, signedIn: false)).GetProperty("status").GetString());
        Assert.Equal(2, hive.QueryDb<long>("SELECT count(*) FROM reminders"));
    }

    [Fact]
    public async Task Healthz_needs_no_sign_in_and_carries_no_data()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"]);
        using var anonymous = hive.CreateClient(signedIn: false);
        using var response = await anonymous.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"status":"ok"}""", await response.Content.ReadAsStringAsync());
    }

    private static RemindArgs InAnHour(string body) => new(body, 3600, null, null, null, null, null, null);

    // /healthz's body has no record: raw.
    private static async Task<JsonElement> HealthAsync(HttpClient http, bool signedIn = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        if (!signedIn) request.Headers.Authorization = null;
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<long> SendUntilOkAsync(AgentClient alice)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var reply = await alice.CallAsync(new { op = "send", to = "bob", body = "after the fault" });
            if (reply.GetProperty("ok").GetBoolean()) return reply.Deserialize<SendReply>(HiveJson.Options)!.Id;
            Assert.True(DateTime.UtcNow < deadline, $"the host did not recover: {reply}");
            await Task.Delay(50);
        }
    }

    /// <summary>Writes until the filesystem has no space left.</summary>
    private static void Fill(string path)
    {
        var chunk = new byte[64 * 1024];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        try
        {
            while (true) file.Write(chunk);
        }
        catch (IOException) { }
        chunk = new byte[512];
        try
        {
            while (true) { file.Write(chunk); file.Flush(); }
        }
        catch (IOException) { }
    }

    private sealed class ReadOnlySwitch { public volatile bool On; }

    /// <summary>The hive's database, opened read-only (SQLite's own SQLITE_READONLY) while the switch is on.</summary>
    private sealed class SwitchableDb(SqliteDb real, string path, ReadOnlySwitch readOnly) : IDb
    {
        public SqliteConnection Open()
        {
            if (!readOnly.On) return real.Open();
            var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
            connection.Open();
            return connection;
        }
    }
}
