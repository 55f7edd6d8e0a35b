namespace Hive.Tests.Shared;

/// <summary>The agents' sockets (Shared/Socket): identity, file modes, the line protocol, many connections.</summary>
public sealed class AgentSocketTests(AgentSocketTests.Fixture fixture) : SharedHiveTests(fixture), IClassFixture<AgentSocketTests.Fixture>
{
    /// <summary>alice and bob configured at start-up: the socket of a configured agent is tested as such.</summary>
    public sealed class Fixture : HiveFixture
    {
        protected override string[] Agents => ["alice", "bob"];
    }

    private readonly HiveInstance _hive = fixture.Hive;

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
        var agents = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(agents[0]);
        var id = (await alice.CallAsync(new { op = "send", to = agents[1], body = "spoof?", from = "operator" })).GetProperty("id").GetInt64();
        Assert.Equal(agents[0], _hive.QueryDb<string>("SELECT sender FROM messages WHERE id = @id", new { id }));
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
        var agents = await _hive.NewAgentsAsync("alice", "bob");
        var clients = new List<AgentClient>();
        for (var i = 0; i < 20; i++) clients.Add(await _hive.ConnectAsync(agents[1]));
        var parked = clients[0].RecvAsync(waitMs: 30_000); // a long-poll must not hold up the others
        var replies = await Task.WhenAll(clients.Skip(1).Select(c => c.CallAsync(new { op = "whoami" })));
        Assert.All(replies, r => Assert.Equal(agents[1], r.GetProperty("name").GetString()));
        Assert.False(parked.IsCompleted);
        await using var alice = await _hive.ConnectAsync(agents[0]);
        await alice.SendAsync(agents[1], "unpark");
        Assert.Equal("unpark", (await parked)!.Value.GetProperty("body").GetString());
        foreach (var c in clients) await c.DisposeAsync();
    }

    /// <summary>Lines that are not a request at all, whatever the verb: the protocol refuses them. {bob} is a real recipient.</summary>
    public static TheoryData<string> MalformedLines => new()
    {
        "{\"op\":\"send\",\"to\":\"{bob}\",\"body\":\"hi\"",
        """{"op":"send","to":"{bob}","body":"hi"} {"op":"send"}""",
        "not json at all",
        "",
        "[1,2,3]",
        "\"send\"",
        """{"to":"{bob}","body":"hi"}""",
        """{"op":42}""",
        """{"op":"launch-missiles"}""",
    };

    [Theory]
    [MemberData(nameof(MalformedLines))]
    public async Task A_malformed_line_is_a_bad_request_changes_nothing_and_the_connection_stays_usable(string line)
    {
        var agents = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(agents[0]);

        var reply = await alice.CallRawAsync(line.Replace("{bob}", agents[1]));

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal("bad_request", reply.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(reply.GetProperty("error").GetString()));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = @alice", new { alice = agents[0] }));
        Assert.Equal(agents[0], (await alice.CallAsync(new { op = "whoami" })).GetProperty("name").GetString());
    }
}
