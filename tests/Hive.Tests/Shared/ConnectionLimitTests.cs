using System.Net.Sockets;
using System.Text;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;
using Hive.Shared;
using Hive.Shared.Dashboard;
using Hive.Shared.Limits;
using Hive.Shared.Socket;

namespace Hive.Tests.Shared;

/// <summary>
/// What clients hold open is bounded. Over-cap event streams get 503 with Retry-After; agent
/// connections that send nothing, or do not read their replies, are closed instead of pinning a slot.
/// </summary>
public sealed class ConnectionLimitTests
{
    private static async Task<Socket> RawConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>Reads until the host closes the socket; the bytes read.</summary>
    private static async Task<byte[]> ReadToEndAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        try
        {
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0) all.Write(buffer, 0, read);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Closed with requests still unread on its side: the kernel resets the connection. Closed all the same.
        }
        return all.ToArray();
    }

    [Theory]
    [InlineData(20_000, 1_000, 200, 2_048)] // a generous limit: the configured caps
    [InlineData(1_024, 256, 192, 256)]      // (1024 - 512) split in halves; streams at most 3/4 of the HTTP share
    [InlineData(600, 44, 33, 44)]
    [InlineData(256, 8, 6, 8)]              // below the reserve: the floor (the host will struggle; it says so in its log)
    public void Every_cap_is_held_under_its_share_of_the_descriptor_limit(int soft, int http, int streams, int agents)
    {
        var limits = ConnectionLimits.From(new LimitsOptions(), new FileDescriptors.Limit(soft, soft, soft, false));
        Assert.Equal((http, streams, agents), (limits.HttpConnections, limits.EventStreams, limits.AgentConnections));
    }

    [Fact]
    public void Configured_caps_below_the_shares_are_kept()
    {
        var limits = ConnectionLimits.From(new LimitsOptions { MaxHttpConnections = 10, MaxEventStreams = 50, MaxAgentConnections = 7 },
            new FileDescriptors.Limit(20_000, 20_000, 1_024, true));
        Assert.Equal((10, 7, 7), (limits.HttpConnections, limits.EventStreams, limits.AgentConnections));
    }

    [Fact]
    public void The_soft_descriptor_limit_is_at_the_hard_limit_after_start_up()
    {
        var limit = FileDescriptors.RaiseSoftToHard();
        Assert.NotNull(limit.Raised);
        Assert.Equal(limit.Hard, limit.Soft);
    }

    [Fact]
    public async Task An_event_stream_over_the_cap_gets_503_with_Retry_After_and_a_freed_slot_is_usable_again()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Limits:MaxEventStreams", "3", "--Hive:Limits:RetryAfterSeconds", "7");
        var open = new List<SseStream>();
        for (var i = 0; i < 3; i++) open.Add(await hive.OpenEventsAsync());

        using (var refused = await hive.Http.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(7), refused.Headers.RetryAfter?.Delta);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = Problem.Of(await refused.Content.ReadFromJsonAsync<JsonElement>());
            Assert.Equal("busy", problem.Code);
        }
        // The API itself is not part of the cap.
        Assert.Equal(HttpStatusCode.OK, (await hive.Http.GetAsync("/api/state")).StatusCode);

        await open[0].DisposeAsync();
        await HiveInstance.Until(() => hive.Service<DashboardHub>().OpenSubscriptions < 3, what: "the closed stream to be released");
        await using var again = await hive.OpenEventsAsync();
        Assert.Equal("hello", again.Hello.Type);
        foreach (var stream in open.Skip(1)) await stream.DisposeAsync();
    }

    [Fact]
    public async Task Agent_connections_over_the_host_cap_get_a_busy_line_whichever_agent_holds_them()
    {
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Limits:MaxAgentConnections", "3");
        var server = hive.Service<AgentSocketServer>();
        var held = new List<AgentClient> { await hive.ConnectAsync("alice"), await hive.ConnectAsync("alice"), await hive.ConnectAsync("bob") };
        foreach (var client in held) await client.CallAsync(MessageVerbs.Whoami, new NoArgs()); // throws unless ok

        await using (var refused = await hive.ConnectAsync("bob"))
        {
            var reply = await refused.ReadReplyAsync(TimeSpan.FromSeconds(10));
            Assert.False(reply.GetProperty("ok").GetBoolean());
            Assert.Equal("busy", reply.Deserialize<Refusal>(HiveJson.Options)!.Code);
        }

        await held[0].DisposeAsync();
        await HiveInstance.Until(() => server.OpenConnections == 2, what: "the released connection to be counted out");
        await using var again = await hive.ConnectAsync("bob");
        Assert.Equal("bob", (await again.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
        foreach (var client in held.Skip(1)) await client.DisposeAsync();
    }

    [Fact]
    public async Task An_idle_agent_connection_is_closed_after_the_idle_timeout_but_a_parked_recv_is_not_idle()
    {
        // 1.5 s: short, yet long enough for this client to send its next request after a reply on a loaded machine.
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Sockets:IdleTimeoutSeconds", "1.5");
        var server = hive.Service<AgentSocketServer>();

        // Silent: closed.
        using var silent = await RawConnectAsync(hive.SocketPath("alice"));
        Assert.Empty(await ReadToEndAsync(silent, TimeSpan.FromSeconds(10)));

        // A request trickling in a byte at a time never completes: closed too (bytes alone do not keep it open).
        using var trickle = await RawConnectAsync(hive.SocketPath("alice"));
        var closed = ReadToEndAsync(trickle, TimeSpan.FromSeconds(10));
        var line = Encoding.UTF8.GetBytes("""{"op":"whoami","padding":"................................................................"}""");
        foreach (var b in line)
        {
            if (closed.IsCompleted) break;
            try { await trickle.SendAsync(new[] { b }, SocketFlags.None); } catch (SocketException) { break; }
            await Task.Delay(100); // the client's pace, not a synchronisation: the assertion waits on the close below
        }
        Assert.Empty(await closed);

        // A long-poll four times the idle timeout is served, and the connection is still usable after it.
        await using var waiting = await hive.ConnectAsync("alice");
        await waiting.RecvOneAsync(waitMs: 6_000); // throws unless ok
        Assert.Equal("alice", (await waiting.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
        await HiveInstance.Until(() => server.OpenConnectionsOf("alice") == 1, what: "only the served connection left");
    }

    [Fact]
    public async Task A_client_pipelining_requests_without_reading_replies_is_closed_after_the_write_timeout_and_its_agent_keeps_working()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Sockets:WriteTimeoutSeconds", "1");
        var server = hive.Service<AgentSocketServer>();
        await using var other = await hive.ConnectAsync("alice");
        Assert.Equal("alice", (await other.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);

        // Ten thousand requests in one go and no reading: once the socket buffers are full of replies the host cannot
        // write, it closes the connection after the write timeout instead of waiting for ever.
        const int requests = 10_000;
        using var greedy = await RawConnectAsync(hive.SocketPath("alice"));
        var burst = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"op\":\"whoami\"}\n", requests)));
        await HiveInstance.Until(() => server.OpenConnectionsOf("alice") == 2, what: "the greedy connection to be accepted");
        var writing = greedy.SendAsync(burst, SocketFlags.None); // may itself block until the host closes
        await HiveInstance.Until(() => server.OpenConnectionsOf("alice") == 1, TimeSpan.FromSeconds(30), "the greedy connection to be closed");

        // Meanwhile and afterwards, the agent's other connection is served.
        Assert.Equal("alice", (await other.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
        var replies = Encoding.UTF8.GetString(await ReadToEndAsync(greedy, TimeSpan.FromSeconds(10))).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(replies.Length, 0, requests - 1); // not served to the end: closed
        Assert.Contains(hive.Logs.Lines, l => l.Text.Contains("did not read its replies", StringComparison.Ordinal));
        try { await writing; } catch (SocketException) { } // EPIPE or reset once the host closed: expected
    }

    [Fact]
    public async Task A_host_started_under_a_soft_ulimit_of_256_raises_it_survives_1500_connection_attempts_and_serves_its_agents_afterwards()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);
        var held = new List<IDisposable>();
        try
        {
            // Soft 256 (the issue's `ulimit -n 256`), hard 1024: the host raises its soft limit to the hard one at start-up.
            // A hard limit of 256 cannot run any .NET web host: the runtime holds two descriptors per loaded assembly, ≈ 250
            // at idle. The hard limit of 1024 keeps the flood below over the limit.
            // One client (every Bearer caller is one) may hold every stream here: this is about the host's cap.
            await using var host = await HostProcess.StartAsync(dataDir, ["alice", "bob"], fileLimit: FileLimit, softFileLimit: 256,
                extraArgs: ["--Hive:Limits:MaxEventStreamsPerClient", "1000"]);
            var limits = File.ReadAllLines($"/proc/{host.ProcessId}/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            Assert.Equal([FileLimit.ToString(), FileLimit.ToString()], limits.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3..5]);

            // A connection opened before the flood: mid-flood it must still be served, paths never hit before included (the
            // old host, out of descriptors, aborted with "Out of memory." loading the assembly of an error page or opening
            // a static file).
            using var keeper = host.CreateClient();
            Assert.Equal(HttpStatusCode.OK, (await keeper.GetAsync("/api/state")).StatusCode);

            // 1) 250 event streams: the cap (three quarters of the HTTP share of the descriptor budget, 192) is below.
            var statuses = new List<HttpStatusCode>();
            var retryAfter = new List<TimeSpan?>();
            for (var i = 0; i < 250; i++)
            {
                var http = host.CreateClient();
                http.Timeout = TimeSpan.FromSeconds(10);
                held.Add(http);
                try
                {
                    var response = await http.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead);
                    held.Add(response);
                    statuses.Add(response.StatusCode);
                    retryAfter.Add(response.Headers.RetryAfter?.Delta);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    statuses.Add(0); // the connection cap closed it on accept
                }
            }
            Assert.Contains(HttpStatusCode.OK, statuses);
            Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
            Assert.All(statuses.Zip(retryAfter).Where(s => s.First == HttpStatusCode.ServiceUnavailable), s => Assert.NotNull(s.Second));

            // 2) 750 bare TCP connections and 3) 500 agent connections, all held open: 1 500 in all, more than the limit.
            for (var i = 0; i < 750; i++)
            {
                var tcp = new TcpClient();
                held.Add(tcp);
                try { await tcp.ConnectAsync(IPAddress.Loopback, host.BaseAddress.Port).WaitAsync(TimeSpan.FromSeconds(5)); }
                catch (Exception e) when (e is SocketException or TimeoutException) { }
            }
            var agentRefusals = 0;
            for (var i = 0; i < 500; i++)
            {
                try
                {
                    var socket = await RawConnectAsync(Path.Combine(dataDir, "run", (i % 2 == 0 ? "alice" : "bob") + ".sock"))
                        .WaitAsync(TimeSpan.FromSeconds(5));
                    held.Add(socket);
                }
                catch (Exception e) when (e is SocketException or TimeoutException) { agentRefusals++; }
            }
            Assert.False(host.HasExited, host.Output);
            Assert.Equal(HttpStatusCode.NotFound, (await keeper.GetAsync("/api/no-such-route")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await keeper.GetAsync("/")).StatusCode);
            Assert.InRange((int)(await keeper.GetAsync("/api/messages?before=abc")).StatusCode, 200, 499);
            Assert.False(host.HasExited, host.Output);

            // Let go of everything; the host serves HTTP and both agents again.
            foreach (var item in held) item.Dispose();
            held.Clear();
            Assert.False(host.HasExited, host.Output);
            await Eventually(async () =>
            {
                using var http = host.CreateClient();
                http.Timeout = TimeSpan.FromSeconds(5);
                return (await http.GetAsync("/api/state")).StatusCode == HttpStatusCode.OK;
            });
            foreach (var agent in new[] { "alice", "bob" })
                await Eventually(async () =>
                {
                    await using var client = await host.ConnectAsync(agent);
                    return (await client.CallAsync(new { op = "whoami" })).GetProperty("ok").GetBoolean();
                });
            await using (var alice = await host.ConnectAsync("alice"))
            await using (var bob = await host.ConnectAsync("bob"))
            {
                var id = await alice.SendAsync("bob", "still here");
                Assert.Equal(id, (await bob.RecvMessageAsync(5_000))?.Id);
            }
            Assert.False(host.HasExited, host.Output);
        }
        finally
        {
            foreach (var item in held) item.Dispose();
            await TestDirectories.DeleteAsync(dataDir);
        }
    }

    /// <summary>
    /// The issue asked for 256, but the runtime alone holds about 250 descriptors (one per loaded assembly), so a host
    /// cannot even start under 256, changed or not; 1 024 is the smallest round limit it runs under with room to test.
    /// </summary>
    private const int FileLimit = 1024;

    /// <summary>Retries <paramref name="attempt"/> until it returns true (exceptions count as false) or the deadline passes.</summary>
    private static async Task Eventually(Func<Task<bool>> attempt, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await attempt()) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SocketException or IOException or JsonException)
            {
                last = e;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("never succeeded", last);
    }
}
