using System.Net;
using System.Net.Sockets;
using static Hive.Tests.Features.Gateway.GatewayKit;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// The host killed (SIGKILL) while an agent's calls stream: after the restart, the calls that were in flight are
/// <c>interrupted</c>, never complete and never spent; the call that had ended stays as it was, counted once.
/// </summary>
public sealed class GatewayCrashTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-gw-" + Guid.NewGuid().ToString("N")[..12]);
    private ScriptedUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await ScriptedUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await TestDirectories.DeleteAsync(_dataDir);
    }

    [Fact]
    public async Task Calls_streaming_when_the_host_is_killed_are_interrupted_after_the_restart_and_the_ended_one_is_counted_once()
    {
        var args = Provider(_upstream.BaseUrl);
        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: args))
        {
            using var http = host.CreateClient();
            using (var saved = await http.PutAsJsonAsync("/api/secrets/anthropic", new { value = NewKey() }))
                Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
            var key = await AgentKeyAsync(host, http, "alice");

            using var door = DoorOf(host, "alice", key);
            using (var first = await door.PostAsync("/v1/messages", MessagesBody(stream: false)))
                Assert.Equal(HttpStatusCode.OK, first.StatusCode);

            _upstream.Answer = async context =>
            {
                await ScriptedUpstream.StartStreamAsync(context, input: 1000);
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            };
            var streaming = Enumerable.Range(0, 3).Select(_ => door.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = MessagesBody() },
                HttpCompletionOption.ResponseHeadersRead)).ToList();
            var responses = await Task.WhenAll(streaming);
            await HiveInstance.Until(() => HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM model_calls WHERE state = 'open'") == 3,
                what: "the three streaming calls' open rows");
            await host.KillAsync();
            foreach (var response in responses) response.Dispose();
        }

        await using var restarted = await HostProcess.StartAsync(_dataDir, [], extraArgs: args);
        await HiveInstance.Until(() => HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM model_calls WHERE state = 'open'") == 0,
            what: "the start-up to mark the calls it found open");
        var states = HiveInstance.QueryDb<string>(_dataDir, "SELECT group_concat(state, ',') FROM (SELECT state FROM model_calls ORDER BY id)");
        Assert.Equal("complete,interrupted,interrupted,interrupted", states);
        Assert.Equal(0L, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM model_calls WHERE state = 'interrupted' AND (input_tokens > 0 OR cost_usd IS NOT NULL)"));
    }

    [Fact]
    public async Task Bad_input_and_broken_calls_leave_no_connection_behind_in_the_host()
    {
        await using var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Provider(_upstream.BaseUrl,
            "--Hive:Gateway:UpstreamTimeoutSeconds", "2", "--Hive:Gateway:MaxRequestBytes", "4096"));
        using var http = host.CreateClient();
        using (var saved = await http.PutAsJsonAsync("/api/secrets/anthropic", new { value = NewKey() }))
            Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        var key = await AgentKeyAsync(host, http, "alice");
        using (var warm = DoorOf(host, "alice", key))
        using (var ok = await warm.PostAsync("/v1/messages", MessagesBody(stream: false)))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var before = Sockets(host.ProcessId);

        using (var door = DoorOf(host, "alice", key))
        {
            using (var notJson = await door.PostAsync("/v1/messages", new StringContent("{oops", System.Text.Encoding.UTF8, "application/json")))
                Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
            using (var unknown = await door.PostAsync("/v2/whatever", MessagesBody()))
                Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            using (var once = DoorOf(host, "alice", key)) // the host closes a connection whose body it refused to read
            using (var big = await once.PostAsync("/v1/messages", MessagesBody(text: new string('x', 8000))))
                Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
            _upstream.Answer = context => Task.Delay(Timeout.Infinite, context.RequestAborted);
            using (var hung = await door.PostAsync("/v1/messages", MessagesBody(stream: false)))
                Assert.Equal(HttpStatusCode.GatewayTimeout, hung.StatusCode);
            _upstream.Answer = async context =>
            {
                await ScriptedUpstream.StartStreamAsync(context, input: 10);
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            };
            using var dropped = await door.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = MessagesBody() },
                HttpCompletionOption.ResponseHeadersRead);
            Assert.True(await (await dropped.Content.ReadAsStreamAsync()).ReadAsync(new byte[16]) > 0);
        }

        await HiveInstance.Until(() => Sockets(host.ProcessId) <= before, TimeSpan.FromSeconds(60),
            "the host's connections to return to where they were");
        Assert.Equal(0L, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM model_calls WHERE state = 'complete' AND id > 1"));
    }

    /// <summary>
    /// The host's open sockets (its connections and listeners): its files are left out, as the database's pool of readers
    /// may open one more connection's files and keep it, which is no leak.
    /// </summary>
    private static int Sockets(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Count(fd =>
    {
        try { return new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true; }
        catch (IOException) { return false; }
    });

    /// <summary>An agent under the process driver whose provider is the gateway's; it writes the placeholder key it was given where the test reads it.</summary>
    internal static async Task<string> AgentKeyAsync(HostProcess host, HttpClient http, string name)
    {
        using (var created = await http.PostAsJsonAsync("/api/agents", new
        {
            name, driver = "process", provider = "anthropic",
            command = new[] { "/bin/sh", "-c", "printf '%s' \"$ANTHROPIC_API_KEY\" > \"$HIVE_STATE_DIR/key.new\" && mv \"$HIVE_STATE_DIR/key.new\" \"$HIVE_STATE_DIR/key\"; exec sleep 1000000" },
        }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var file = Path.Combine(host.DataDir, "agents", name, "state", "key");
        await HiveInstance.Until(() => File.Exists(file), what: $"{name} to write its key");
        return await File.ReadAllTextAsync(file);
    }

    internal static HttpClient DoorOf(HostProcess host, string agent, string key)
    {
        var socket = Path.Combine(host.DataDir, "run", agent + ".gateway.sock");
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                return new NetworkStream(s, ownsSocket: true);
            },
        };
        var client = new HttpClient(handler) { BaseAddress = new Uri("http://127.0.0.1:1/"), Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add("x-api-key", key);
        return client;
    }
}
