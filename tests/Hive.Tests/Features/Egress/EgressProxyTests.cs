using System.Net.Sockets;
using System.Text;
using Dapper;
using Hive.Features.Containers;
using Hive.Features.Egress.Proxy;
using Hive.Features.Egress.Record;
using Hive.Shared.Egress;
using Hive.Tests.Cli;
using MediatR;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Features.Egress;

/// <summary>
/// A hive whose egress names are the test's (<see cref="StaticResolver"/>): <c>outside.test</c> and <c>plain.test</c> at
/// the test network's server (ADR 0001 F6b/c), <c>loopback.test</c> at 127.0.0.1 and <c>metadata.test</c> at
/// 169.254.169.254; a head must come whole within 2 s. The test network needs a root host (<see cref="TestNetwork.Unavailable"/>).
/// </summary>
public sealed class EgressFixture : HiveFixture
{
    public TestNetwork? Network { get; } = TestNetwork.Unavailable is null ? TestNetwork.Create() : null;

    /// <summary>The refusals the dashboard was told of (<c>egress_refused</c>).</summary>
    public List<EgressRefused> Told { get; } = [];

    protected override string[] Args => ["--Hive:Egress:HeadTimeoutSeconds", "2"];

    protected override void ConfigureServices(IServiceCollection services)
    {
        var names = new Dictionary<string, IPAddress[]>
        {
            ["loopback.test"] = [IPAddress.Loopback],
            ["metadata.test"] = [IPAddress.Parse("169.254.169.254")],
        };
        if (Network is not null) names["outside.test"] = names["plain.test"] = [Network.Address];
        services.AddSingleton<IEgressResolver>(new StaticResolver(names));
        services.AddSingleton(this);
        services.AddTransient<INotificationHandler<EgressRefused>, TellProbe>();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Network?.Dispose();
    }

    private sealed class TellProbe(EgressFixture fixture) : INotificationHandler<EgressRefused>
    {
        public Task Handle(EgressRefused notification, CancellationToken cancellationToken)
        {
            lock (fixture.Told) fixture.Told.Add(notification);
            return Task.CompletedTask;
        }
    }
}

public sealed class EgressProxyTests(EgressFixture fixture) : SharedHiveTests(fixture), IClassFixture<EgressFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private async Task<string> AgentAsync(params string[] egress)
    {
        var name = "net-" + Guid.NewGuid().ToString("N")[..8];
        // A process agent that sleeps: an external one's create takes no egress, and its network does not matter to a
        // test that talks to its egress socket directly, as its hivectl port would.
        await _hive.Service<IMediator>().Send(new CreateAgent.Command(name, ["sleep", "100000"], Driver: "process", Egress: egress));
        return name;
    }

    /// <summary>A connection to the agent's egress socket, as its <c>hivectl port</c> makes one.</summary>
    private async Task<Socket> DoorAsync(string agent)
    {
        var path = _hive.Service<IAgentEgress>().For(agent)!.Socket;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var all = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0) all.Write(buffer, 0, read);
        return Encoding.UTF8.GetString(all.ToArray());
    }

    /// <summary>Reads until <paramref name="text"/> has come (and returns all that came).</summary>
    private static async Task<string> ReadUntilAsync(Socket socket, string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var all = new StringBuilder();
        var buffer = new byte[8192];
        while (!all.ToString().Contains(text, StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (read == 0) throw new IOException($"closed before '{text}' came; got: {all}");
            all.Append(Encoding.Latin1.GetString(buffer, 0, read));
        }
        return all.ToString();
    }

    private async Task<string> AskAsync(string agent, string head)
    {
        using var door = await DoorAsync(agent);
        await door.SendAsync(Encoding.ASCII.GetBytes(head));
        return await ReadToEndAsync(door);
    }

    private sealed record AuditRow(string Actor, string Action, string? Target, string Result);

    private async Task<IReadOnlyList<AuditRow>> AuditAsync(string agent, int atLeast)
    {
        IReadOnlyList<AuditRow> rows = [];
        await HiveInstance.Until(() =>
        {
            using var db = new SqliteConnection($"Data Source={_hive.DatabasePath};Mode=ReadOnly");
            rows = db.Query<AuditRow>("SELECT actor, action, target, result FROM audit_log WHERE actor = @agent AND action = 'egress' ORDER BY id",
                new { agent }).AsList();
            return rows.Count >= atLeast;
        }, TimeSpan.FromSeconds(30), $"{atLeast} egress audit entries of {agent}");
        return rows;
    }

    /// <summary>
    /// The agent's attempts as <c>/api/agents/{name}/net</c> lists them, once there is one: the attempt's row is written
    /// after its audit entry, in a change of its own, so the audit being there says nothing of the row yet.
    /// </summary>
    private async Task<JsonElement[]> NetAsync(string agent)
    {
        JsonElement[] attempts = [];
        await HiveInstance.Until(() => (attempts = _hive.Http.GetFromJsonAsync<JsonElement>($"/api/agents/{agent}/net").GetAwaiter().GetResult()
            .EnumerateArray().ToArray()).Length > 0, TimeSpan.FromSeconds(30), $"an egress attempt of {agent} listed");
        return attempts;
    }

    /// <summary>The open egress questions about <paramref name="agent"/>'s places (question id, place).</summary>
    private IReadOnlyList<(long Id, string Target)> EgressQuestions(string agent)
    {
        using var db = new SqliteConnection($"Data Source={_hive.DatabasePath};Mode=ReadOnly");
        return db.Query<(long, string)>("SELECT question_id, target FROM egress_questions WHERE agent = @agent AND state = 'open'", new { agent }).ToList();
    }

    /// <summary>An agent with <c>egress_ask</c> and no egress, and the CONNECT to <paramref name="server"/> (started here) it will be refused.</summary>
    private async Task<(string Agent, int Port, string Connect)> AskingAgentAsync(TcpListener server)
    {
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;
        var agent = "ask-" + Guid.NewGuid().ToString("N")[..8];
        await _hive.Service<IMediator>().Send(new CreateAgent.Command(agent, ["sleep", "100000"], Driver: "process", Egress: [], EgressAsk: true));
        return (agent, port, $"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n");
    }

    [Fact]
    public async Task With_egress_ask_a_refused_place_is_one_question_and_allow_always_adds_it_so_the_next_attempt_passes()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        var (agent, port, connect) = await AskingAgentAsync(server);

        var first = await AskAsync(agent, connect);
        var second = await AskAsync(agent, connect);

        Assert.StartsWith("HTTP/1.1 403", first);
        Assert.Contains("the operator has been asked", first);
        Assert.StartsWith("HTTP/1.1 403", second);
        var (question, place) = Assert.Single(EgressQuestions(agent)); // two refusals, one question
        Assert.Equal($"127.0.0.1:{port}", place);
        using (var answer = await _hive.Http.PostAsJsonAsync($"/api/questions/{question}/answer", new { answer = "allow always" })) answer.EnsureSuccessStatusCode();
        await HiveInstance.Until(() => _hive.Service<IMediator>().Send(new ReadAgentEgress.Query(agent)).Result.Egress.Contains($"127.0.0.1:{port}"),
            what: "the place in the agent's egress");

        var served = Task.Run(async () =>
        {
            using var connection = await server.AcceptSocketAsync();
            await connection.SendAsync("allowed-now"u8.ToArray());
            connection.Shutdown(SocketShutdown.Send);
            await ReadToEndAsync(connection);
        });
        Assert.Equal("HTTP/1.1 200 Connection established\r\n\r\nallowed-now", await AskAsync(agent, connect));
        await served;
        Assert.Empty(EgressQuestions(agent));
    }

    [Fact]
    public async Task Allow_once_lets_the_next_attempt_through_and_not_the_one_after_and_deny_is_not_asked_again()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        var (agent, port, connect) = await AskingAgentAsync(server);

        Assert.StartsWith("HTTP/1.1 403", await AskAsync(agent, connect));
        var (question, _) = Assert.Single(EgressQuestions(agent));
        using (var answer = await _hive.Http.PostAsJsonAsync($"/api/questions/{question}/answer", new { answer = "allow once" })) answer.EnsureSuccessStatusCode();
        await HiveInstance.Until(() => EgressQuestions(agent).Count == 0, what: "the answer applied");
        var served = Task.Run(async () =>
        {
            using var connection = await server.AcceptSocketAsync();
            connection.Shutdown(SocketShutdown.Send);
            await ReadToEndAsync(connection);
        });
        Assert.StartsWith("HTTP/1.1 200", await AskAsync(agent, connect));
        await served;
        Assert.StartsWith("HTTP/1.1 403", await AskAsync(agent, connect)); // once only; asked again
        var (again, _) = Assert.Single(EgressQuestions(agent));
        using (var answer = await _hive.Http.PostAsJsonAsync($"/api/questions/{again}/answer", new { answer = "deny" })) answer.EnsureSuccessStatusCode();
        await HiveInstance.Until(() => EgressQuestions(agent).Count == 0, what: "the denial applied");

        var denied = await AskAsync(agent, connect);
        Assert.StartsWith("HTTP/1.1 403", denied);
        Assert.DoesNotContain("the operator has been asked", denied);
        Assert.Empty(EgressQuestions(agent));
    }

    [Fact]
    public async Task A_target_not_in_the_agents_egress_is_refused_with_403_naming_why_and_audited()
    {
        var agent = await AgentAsync("github.com");

        var answer = await AskAsync(agent, "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", answer);
        Assert.Contains("Connection: close\r\n", answer);
        Assert.EndsWith($"\r\n\r\nhive: {agent} may not reach example.org:443 (not in its egress)\n", answer);
        var audit = Assert.Single(await AuditAsync(agent, 1));
        Assert.Equal("example.org:443", audit.Target);
        Assert.StartsWith("refused 403: ", audit.Result);
        var attempt = Assert.Single(await NetAsync(agent));
        Assert.Equal("refused", attempt.GetProperty("decision").GetString());
        Assert.Equal("example.org", attempt.GetProperty("host").GetString());
    }

    [Fact]
    public async Task The_operator_reads_an_agents_attempts_refused_first_with_hivectl_net_log()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;
        var agent = await AgentAsync($"127.0.0.1:{port}");
        var served = Task.Run(async () => { using var c = await server.AcceptSocketAsync(); });
        await AskAsync(agent, $"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n");
        await served;
        await AuditAsync(agent, 1); // the allowed one first, so that "refused first" is the listing's order, not the writing's
        await AskAsync(agent, "CONNECT example.org:443 HTTP/1.1\r\n\r\n");
        await AuditAsync(agent, 2);

        var log = await Hive.Tests.Cli.Hivectl.RunAsync(["--url", _hive.BaseAddress.ToString(), "--token", _hive.Token!, "net", "log", "--agent", agent, "--json"]);

        var rows = log.Ok().Json.EnumerateArray().ToArray();
        Assert.Equal(["refused", "allowed"], rows.Select(r => r.GetProperty("decision").GetString()));
        Assert.Equal("example.org", rows[0].GetProperty("host").GetString());
        Assert.Contains("not in its egress", rows[0].GetProperty("reason").GetString());
        var table = (await Hive.Tests.Cli.Hivectl.RunAsync(["--url", _hive.BaseAddress.ToString(), "--token", _hive.Token!, "net", "log", "--agent", agent])).Ok().Stdout;
        Assert.Contains("CONNECT example.org:443", table);
        Assert.Contains($"CONNECT 127.0.0.1:{port}", table);
    }

    [Theory]
    [InlineData("loopback.test", "127.0.0.1", "loopback")]
    [InlineData("metadata.test", "169.254.169.254", "link-local")]
    public async Task A_name_in_egress_that_resolves_to_a_refused_address_is_refused_and_told_once_a_minute(string name, string address, string why)
    {
        var agent = await AgentAsync(name + ":443", name + ":80");

        var connect = await AskAsync(agent, $"CONNECT {name}:443 HTTP/1.1\r\n\r\n");
        var plain = await AskAsync(agent, $"GET http://{name}/latest/meta-data/ HTTP/1.1\r\nHost: {name}\r\n\r\n");
        var again = await AskAsync(agent, $"CONNECT {name}:443 HTTP/1.1\r\n\r\n");

        foreach (var answer in new[] { connect, plain, again })
        {
            Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", answer);
            Assert.Contains($"it resolves to {address}, {why}", answer);
        }
        var audit = await AuditAsync(agent, 3);
        Assert.All(audit, a => Assert.StartsWith($"refused {address} 403: ", a.Result));
        // The event is published after its audit row commits, so it is waited for; three refusals for one host within
        // the minute are one event.
        await HiveInstance.Until(() => { lock (fixture.Told) return fixture.Told.Any(t => t.Agent == agent); }, TimeSpan.FromSeconds(30), $"egress_refused of {agent}");
        lock (fixture.Told) Assert.Single(fixture.Told, t => t.Agent == agent);
    }

    [Fact]
    public async Task A_rule_naming_a_loopback_address_literally_reaches_it()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;
        var agent = await AgentAsync($"127.0.0.1:{port}");
        var served = Task.Run(async () =>
        {
            using var connection = await server.AcceptSocketAsync();
            await connection.SendAsync("from-loopback"u8.ToArray());
            connection.Shutdown(SocketShutdown.Send);
            await ReadToEndAsync(connection);
        });

        var answer = await AskAsync(agent, $"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n");

        Assert.Equal("HTTP/1.1 200 Connection established\r\n\r\nfrom-loopback", answer);
        await served;
        Assert.StartsWith("allowed 127.0.0.1 200, out 0 B, in 13 B", Assert.Single(await AuditAsync(agent, 1)).Result);
    }

    [Fact]
    public async Task A_connect_to_a_name_in_egress_at_an_outside_address_reaches_it_with_the_bytes_sent_after_the_head_first_and_both_ways_counted()
    {
        if (fixture.Network is not { } network) return; // TestNetwork.Unavailable: a root host with ip and unshare
        var server = network.Listen(async connection =>
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await connection.ReceiveAsync(buffer)) > 0) await connection.SendAsync(buffer.AsMemory(0, read)); // echo
            connection.Shutdown(SocketShutdown.Send);
        });
        var agent = await AgentAsync($"outside.test:{server.Port}");

        using (var door = await DoorAsync(agent))
        {
            await door.SendAsync(Encoding.ASCII.GetBytes($"CONNECT outside.test:{server.Port} HTTP/1.1\r\nHost: outside.test\r\n\r\nhello-pipelined;"));
            var first = await ReadUntilAsync(door, "hello-pipelined;");
            Assert.Equal("HTTP/1.1 200 Connection established\r\n\r\nhello-pipelined;", first);
            var big = new byte[1024 * 1024];
            Random.Shared.NextBytes(big);
            var echoed = Task.Run(async () =>
            {
                var all = new MemoryStream();
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = await door.ReceiveAsync(buffer)) > 0) all.Write(buffer, 0, read);
                return all.ToArray();
            });
            await door.SendAsync(big);
            door.Shutdown(SocketShutdown.Send); // a half-close: the echo still comes back whole
            Assert.Equal(big, await echoed);
        }

        var total = "hello-pipelined;".Length + 1024 * 1024;
        var audit = Assert.Single(await AuditAsync(agent, 1));
        Assert.StartsWith($"allowed {network.Address} 200, out {total} B, in {total} B", audit.Result);
        var attempt = Assert.Single(await NetAsync(agent));
        Assert.Equal(total, attempt.GetProperty("bytes_out").GetInt64());
        Assert.Equal(total, attempt.GetProperty("bytes_in").GetInt64());
        Assert.Equal(network.Address.ToString(), attempt.GetProperty("address").GetString());
    }

    [Fact]
    public async Task A_plain_http_request_is_forwarded_in_origin_form_and_a_second_on_that_connection_is_not()
    {
        if (fixture.Network is not { } network) return; // TestNetwork.Unavailable: a root host with ip and unshare
        var seen = new List<string>();
        // A server that keeps connections alive whatever it is told: only the proxy stops a second request.
        var server = network.Listen(async connection =>
        {
            var pending = "";
            var buffer = new byte[8192];
            while (true)
            {
                int end;
                while ((end = pending.IndexOf("\r\n\r\n", StringComparison.Ordinal)) < 0)
                {
                    var read = await connection.ReceiveAsync(buffer);
                    if (read == 0) return;
                    pending += Encoding.ASCII.GetString(buffer, 0, read);
                }
                lock (seen) seen.Add(pending[..(end + 4)]);
                pending = pending[(end + 4)..];
                await connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=60\r\n\r\nhello"u8.ToArray());
            }
        });
        var agent = await AgentAsync($"plain.test:{server.Port}");

        using (var door = await DoorAsync(agent))
        {
            await door.SendAsync(Encoding.ASCII.GetBytes($"GET http://plain.test:{server.Port}/dists/stable?x=1 HTTP/1.1\r\nHost: plain.test\r\n" +
                "Proxy-Authorization: Basic c2VjcmV0\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n"));
            var answer = await ReadUntilAsync(door, "hello");
            Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", answer);
            // Not what a client told to close does, but what one trying its luck would: it must reach no one.
            await door.SendAsync(Encoding.ASCII.GetBytes($"GET http://plain.test:{server.Port}/second HTTP/1.1\r\nHost: plain.test\r\n\r\n"));
        }

        Assert.StartsWith($"allowed {network.Address} 200", Assert.Single(await AuditAsync(agent, 1)).Result); // written once the connection ended
        lock (seen)
        {
            var request = Assert.Single(seen);
            Assert.Equal($"GET /dists/stable?x=1 HTTP/1.1\r\nHost: plain.test:{server.Port}\r\nAccept: */*\r\nConnection: close\r\n\r\n", request);
        }
    }

    [Fact]
    public async Task A_plain_http_requests_large_body_is_passed_on_to_its_length_and_no_further_and_its_large_answer_whole_both_ways_counted()
    {
        if (fixture.Network is not { } network) return; // TestNetwork.Unavailable: a root host with ip and unshare
        var body = new byte[600 * 1024];
        Random.Shared.NextBytes(body);
        var answer = new byte[2 * 1024 * 1024];
        Random.Shared.NextBytes(answer);
        var answerHead = $"HTTP/1.1 200 OK\r\nContent-Length: {answer.Length}\r\nKeep-Alive: timeout=60\r\n\r\n";
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Everything until the proxy's half-close, then the answer: what it got is all the proxy passed on.
        var server = network.Listen(async connection =>
        {
            var all = new MemoryStream();
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await connection.ReceiveAsync(buffer)) > 0) all.Write(buffer, 0, read);
            received.SetResult(all.ToArray());
            await connection.SendAsync(Encoding.ASCII.GetBytes(answerHead));
            await connection.SendAsync(answer);
            connection.Shutdown(SocketShutdown.Send);
        });
        var agent = await AgentAsync($"plain.test:{server.Port}");
        var got = new MemoryStream();

        using (var door = await DoorAsync(agent))
        {
            var head = Encoding.ASCII.GetBytes($"POST http://plain.test:{server.Port}/put HTTP/1.1\r\nHost: plain.test\r\nContent-Length: {body.Length}\r\n\r\n");
            await door.SendAsync((byte[])[.. head, .. body.AsSpan(0, 1000)]); // some of the body with the head
            await door.SendAsync(body.AsMemory(1000));
            await door.SendAsync(Encoding.ASCII.GetBytes($"GET http://plain.test:{server.Port}/second HTTP/1.1\r\nHost: plain.test\r\n\r\n"));
            door.Shutdown(SocketShutdown.Send);
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await door.ReceiveAsync(buffer)) > 0) got.Write(buffer, 0, read);
        }

        var rewritten = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {answer.Length}\r\nConnection: close\r\n\r\n");
        Assert.Equal([.. rewritten, .. answer], got.ToArray()); // first: a refusal ends here, before the server was reached
        var passed = await received.Task;
        var origin = $"POST /put HTTP/1.1\r\nHost: plain.test:{server.Port}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        Assert.Equal(origin, Encoding.ASCII.GetString(passed, 0, Math.Min(passed.Length, origin.Length)));
        Assert.Equal(body, passed[origin.Length..]);
        Assert.StartsWith($"allowed {network.Address} 200", Assert.Single(await AuditAsync(agent, 1)).Result);
        var attempt = Assert.Single(await NetAsync(agent));
        Assert.Equal(passed.Length, attempt.GetProperty("bytes_out").GetInt64());
        Assert.Equal(answerHead.Length + answer.Length, attempt.GetProperty("bytes_in").GetInt64());
    }

    [Fact]
    public async Task A_connection_that_never_sends_a_whole_head_is_closed_after_the_timeout()
    {
        var agent = await AgentAsync("example.org");
        using var door = await DoorAsync(agent);
        await door.SendAsync("CONNECT example.org:443 HTTP/1.1\r\nHost: exa"u8.ToArray());

        Assert.Equal("", await ReadToEndAsync(door)); // closed without an answer (the head timeout is 2 s here)
    }

    [Fact]
    public async Task An_oversize_head_is_refused_with_400()
    {
        var agent = await AgentAsync("example.org");
        var answer = await AskAsync(agent, "CONNECT example.org:443 HTTP/1.1\r\n" + string.Concat(Enumerable.Repeat("X-Pad: " + new string('a', 100) + "\r\n", 100)) + "\r\n");
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", answer);
        Assert.Contains("over 8192 bytes", answer);
    }

    [Fact]
    public async Task An_agents_egress_socket_is_there_while_it_is_an_agent_and_gone_once_it_leaves()
    {
        var agent = await AgentAsync("example.org");
        var path = _hive.Service<IAgentEgress>().For(agent)!.Socket;
        Assert.Equal(Path.Combine(_hive.DataDir, "run", agent + ".egress.sock"), path);
        Assert.True(File.Exists(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        using (var destroyed = await _hive.Http.DeleteAsync($"/api/agents/{agent}")) Assert.True(destroyed.IsSuccessStatusCode);

        await HiveInstance.Until(() => !File.Exists(path), what: "the egress socket to go");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await Assert.ThrowsAnyAsync<SocketException>(() => socket.ConnectAsync(new UnixDomainSocketEndPoint(path)));
    }
}
