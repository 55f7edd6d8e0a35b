namespace Hive.Tests.Host;

/// <summary>
/// The built host as an operator runs it: `dotnet Hive.Host.dll ARGS` from any working directory. Child processes of
/// their own: one is stopped with SIGTERM, one killed with SIGKILL and restarted.
/// </summary>
public sealed class HostProcessTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-proc-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Runs_from_the_root_directory_with_plain_configuration_arguments()
    {
        await using var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"], workingDirectory: "/");

        await using var alice = await host.ConnectAsync("alice");
        Assert.Equal("alice", (await alice.CallAsync(new { op = "whoami" })).GetProperty("name").GetString());

        using var http = host.CreateClient();
        var state = await http.GetFromJsonAsync<JsonElement>("/api/state");
        Assert.Equal(["manager", "alice", "bob"], state.GetProperty("agents").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        using var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode); // the page is found beside the assembly, not in the working dir
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.True(File.Exists(Path.Combine(_dataDir, "hive.db")));
        Assert.False(Directory.Exists("/.hive"));

        await host.TerminateAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, host.ExitCode);
        Assert.False(File.Exists(Path.Combine(_dataDir, "run", "alice.sock"))); // a graceful stop removes its sockets
    }

    [Fact]
    public async Task Acknowledged_messages_survive_a_SIGKILL_and_are_delivered_once_after_restart()
    {
        var acknowledged = new List<long>();
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]))
        {
            await using var alice = await host.ConnectAsync("alice");
            await using var bob = await host.ConnectAsync("bob");
            for (var i = 0; i < 50; i++) acknowledged.Add(await alice.SendAsync("bob", $"crash {i}"));
            // Deliver the first ten before the crash: they must not come back.
            for (var i = 0; i < 10; i++) Assert.Equal(acknowledged[i], (await bob.RecvAsync())!.Value.GetProperty("id").GetInt64());
            await host.KillAsync();
        }

        await using var restarted = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]);
        await using var bobAgain = await restarted.ConnectAsync("bob");
        var after = new List<long>();
        while (await bobAgain.RecvAsync() is { } message) after.Add(message.GetProperty("id").GetInt64());
        Assert.Equal(acknowledged.Skip(10), after);
    }
}
