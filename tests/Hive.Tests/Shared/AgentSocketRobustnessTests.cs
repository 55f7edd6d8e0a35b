using System.Net.Sockets;
using System.Text;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;
using Hive.Shared.Socket;

namespace Hive.Tests.Shared;

/// <summary>What a careless or hostile agent does to its socket must not cost anyone a message or the host.</summary>
public sealed class AgentSocketRobustnessTests(HiveFixture fixture) : SharedHiveTests(fixture), IClassFixture<HiveFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private async Task<Socket> RawConnectAsync(string agent)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_hive.SocketPath(agent)));
        return socket;
    }

    [Fact]
    public async Task A_message_taken_by_a_recv_whose_agent_hung_up_goes_back_to_the_inbox()
    {
        // Twenty long-polls whose agents vanish, then twenty messages: none may be lost to the dead connections.
        var agents = await _hive.NewAgentsAsync("alice", "bob");
        var dead = new List<Socket>();
        for (var i = 0; i < 20; i++)
        {
            var socket = await RawConnectAsync(agents[1]);
            await socket.SendAsync(Encoding.UTF8.GetBytes("""{"op":"recv","wait_ms":20000}""" + "\n"));
            dead.Add(socket);
        }
        foreach (var socket in dead) socket.Dispose();

        await using var alice = await _hive.ConnectAsync(agents[0]);
        var sent = new List<long>();
        for (var i = 0; i < 20; i++) sent.Add(await alice.SendAsync(agents[1], $"do not lose {i}"));

        await using var bob = await _hive.ConnectAsync(agents[1]);
        var received = new List<long>();
        while (received.Count < sent.Count && await bob.RecvAndAckAsync(waitMs: 5_000) is { } message)
            received.Add(message.Deserialize<MessageView>(HiveJson.Options)!.Id);
        Assert.Equal(sent, received.Order());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @bob AND delivered_at IS NULL", new { bob = agents[1] }));
    }

    [Fact]
    public async Task An_agent_cannot_hold_more_than_the_connection_cap_and_others_are_unaffected()
    {
        var agents = await _hive.NewAgentsAsync("alice", "bob");
        var held = new List<AgentClient>();
        for (var i = 0; i < AgentSocketServer.MaxConnectionsPerAgent; i++)
        {
            var client = await _hive.ConnectAsync(agents[0]);
            Assert.Equal(agents[0], (await client.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
            held.Add(client);
        }

        await using (var refused = await _hive.ConnectAsync(agents[0]))
        {
            var reply = await refused.ReadReplyAsync(TimeSpan.FromSeconds(5));
            Assert.False(reply.GetProperty("ok").GetBoolean());
            Assert.Equal("conflict", reply.Deserialize<Refusal>(HiveJson.Options)!.Code);
        }

        await using (var bob = await _hive.ConnectAsync(agents[1]))
            Assert.Equal(agents[1], (await bob.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await _hive.Http.GetAsync("/api/state")).StatusCode);

        await held[0].DisposeAsync();
        held.RemoveAt(0);
        // The host sees the hang-up asynchronously (a probe before that is refused, or finds the socket closed): the freed
        // slot is waited for where the host counts it, then taken.
        var server = _hive.Service<AgentSocketServer>();
        await HiveInstance.Until(() => server.OpenConnectionsOf(agents[0]) < AgentSocketServer.MaxConnectionsPerAgent, what: "the host to see the hang-up");
        await using (var probe = await _hive.ConnectAsync(agents[0]))
            Assert.Equal(agents[0], (await probe.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
        foreach (var client in held) await client.DisposeAsync();
    }

    [Fact]
    public async Task Invalid_utf8_in_op_is_a_bad_request_and_the_connection_stays_usable()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        await alice.WriteRawAsync([.. "{\"op\":\""u8.ToArray(), 0xff, .. "\"}\n"u8.ToArray()]);
        var reply = await alice.ReadReplyAsync();
        Assert.Equal("bad_request", reply.Deserialize<Refusal>(HiveJson.Options)!.Code);
        Assert.Equal(name, (await alice.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
    }

    [Fact]
    public async Task Over_long_line_gets_one_error_and_the_connection_stays_usable()
    {
        var agents = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(agents[0]);
        var huge = $$"""{"op":"send","to":"{{agents[1]}}","body":""" + "\"" + new string('a', 200_000) + "\"}\n";
        await alice.WriteRawAsync(Encoding.UTF8.GetBytes(huge + """{"op":"whoami"}""" + "\n"));

        var error = await alice.ReadReplyAsync();
        Assert.False(error.GetProperty("ok").GetBoolean());
        Assert.Equal("too_large", error.Deserialize<Refusal>(HiveJson.Options)!.Code);
        var next = await alice.ReadReplyAsync();
        Assert.Equal(agents[0], next.Deserialize<WhoamiReply>(HiveJson.Options)!.Name);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = @alice", new { alice = agents[0] }));
    }

    [Fact]
    public async Task A_last_request_without_newline_before_a_half_close_is_answered()
    {
        var alice = await _hive.NewAgentAsync("alice");
        using var socket = await RawConnectAsync(alice);
        await socket.SendAsync("""{"op":"whoami"}"""u8.ToArray());
        socket.Shutdown(SocketShutdown.Send);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (!received.Contains((byte)'\n'))
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            Assert.True(n > 0, "the host closed without answering");
            received.AddRange(buffer[..n]);
        }
        Assert.Equal(alice, JsonSerializer.Deserialize<WhoamiReply>(received.ToArray(), HiveJson.Options)!.Name);
    }
}
