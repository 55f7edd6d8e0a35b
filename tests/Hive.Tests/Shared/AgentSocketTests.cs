using Hive.Tests.Infrastructure;

namespace Hive.Tests.Shared;

public sealed class AgentSocketTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"]);
    public async Task DisposeAsync() => await _hive.DisposeAsync();

    [Theory]
    [InlineData("alice")]
    [InlineData("bob")]
    [InlineData("manager")]
    public async Task The_socket_is_the_identity(string agent)
    {
        await using var client = await _hive.ConnectAsync(agent);
        var reply = await client.CallAsync(new { op = "whoami" });
        Assert.True(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(agent, reply.GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_claimed_identity_in_the_request_is_ignored()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var id = (await alice.CallAsync(new { op = "send", to = "bob", body = "spoof?", from = "operator" })).GetProperty("id").GetInt64();
        Assert.Equal("alice", _hive.QueryDb<string>("SELECT sender FROM messages WHERE id = @id", new { id }));
    }

    [Fact]
    public void Each_agent_has_its_own_socket_readable_only_by_the_host_user()
    {
        foreach (var agent in new[] { "manager", "alice", "bob" })
        {
            var path = _hive.SocketPath(agent);
            Assert.True(File.Exists(path), path);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(Path.Combine(_hive.DataDir, "run")));
    }

    [Fact]
    public async Task Many_connections_of_one_agent_are_served_independently()
    {
        var clients = new List<AgentClient>();
        for (var i = 0; i < 20; i++) clients.Add(await _hive.ConnectAsync("bob"));
        var parked = clients[0].RecvAsync(waitMs: 30_000); // a long-poll must not hold up the others
        var replies = await Task.WhenAll(clients.Skip(1).Select(c => c.CallAsync(new { op = "whoami" })));
        Assert.All(replies, r => Assert.Equal("bob", r.GetProperty("name").GetString()));
        Assert.False(parked.IsCompleted);
        await using var alice = await _hive.ConnectAsync("alice");
        await alice.SendAsync("bob", "unpark");
        Assert.Equal("unpark", (await parked)!.Value.GetProperty("body").GetString());
        foreach (var c in clients) await c.DisposeAsync();
    }
}
