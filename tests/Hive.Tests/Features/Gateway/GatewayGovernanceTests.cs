using System.Net;
using Hive.Shared.Gateway;
using Microsoft.AspNetCore.Http;
using static Hive.Tests.Features.Gateway.GatewayKit;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// The provider's own word on its limits: a 429 with <c>retry-after</c> opens that provider's circuit until then for every
/// agent on it (refused at the door, the provider sees nothing), agents on another provider go on, and a 200 that ends a
/// call already in flight does not close it early.
/// </summary>
public sealed class GatewayGovernanceTests : IAsyncLifetime
{
    private ScriptedUpstream _first = null!;
    private ScriptedUpstream _second = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        _first = await ScriptedUpstream.StartAsync();
        _second = await ScriptedUpstream.StartAsync();
        _hive = await HiveInstance.StartAsync([], Provider(_first.BaseUrl,
            "--Hive:Gateway:Providers:second:Protocol", "anthropic",
            "--Hive:Gateway:Providers:second:Upstream", _second.BaseUrl,
            "--Hive:Gateway:Providers:second:KeySecret", "anthropic"));
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = NewKey() });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        foreach (var (name, provider) in new[] { ("a1", "anthropic"), ("a2", "anthropic"), ("b1", "second") })
            using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new
            { name, driver = "process", provider, command = new[] { "/bin/sh", "-c", "exec sleep 1000000" } }))
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await _first.DisposeAsync();
        await _second.DisposeAsync();
    }

    private HttpClient DoorOf(string agent, string provider)
    {
        var access = _hive.Service<IAgentGateways>().For(agent, provider)!;
        return Door(_hive, agent, access.PlaceholderKey);
    }

    [Fact]
    public async Task A_429_with_retry_after_holds_every_agent_on_that_provider_until_then_and_no_other()
    {
        var release = new TaskCompletionSource();
        var seen = 0;
        _first.Answer = async context =>
        {
            if (Interlocked.Increment(ref seen) == 1)
            {
                await ScriptedUpstream.StartStreamAsync(context, input: 10); // a1's call, in flight across the 429
                await release.Task.WaitAsync(context.RequestAborted);
                await context.Response.WriteAsync("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", context.RequestAborted);
                return;
            }
            context.Response.StatusCode = 429;
            context.Response.Headers.RetryAfter = "120";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}""", context.RequestAborted);
        };
        using var a1 = DoorOf("a1", "anthropic");
        using var a2 = DoorOf("a2", "anthropic");
        using var b1 = DoorOf("b1", "second");

        using var inFlight = await a1.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = MessagesBody() },
            HttpCompletionOption.ResponseHeadersRead);
        var before = DateTimeOffset.UtcNow;
        using (var limited = await a2.PostAsync("/v1/messages", MessagesBody(stream: false)))
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode); // the provider's own answer, passed on

        var circuit = await CircuitAsync("anthropic");
        Assert.InRange(circuit.GetProperty("until").GetDateTimeOffset(), before.AddSeconds(110), DateTimeOffset.UtcNow.AddSeconds(125));

        // The call in flight ends with a 200: the circuit stays open.
        release.SetResult();
        Assert.Contains("message_stop", await inFlight.Content.ReadAsStringAsync());
        await HiveInstance.Until(() => CallsAsync(_hive).GetAwaiter().GetResult().Any(c => c.Agent == "a1" && c.State == "complete"),
            what: "a1's call to be recorded complete");
        Assert.Equal(circuit.GetProperty("until").GetDateTimeOffset(), (await CircuitAsync("anthropic")).GetProperty("until").GetDateTimeOffset());

        // Every agent on anthropic is refused at the door, in the provider's format with the reset; the provider sees nothing more.
        foreach (var door in new[] { a1, a2 })
        {
            using var refused = await door.PostAsync("/v1/messages", MessagesBody(stream: false));
            var error = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("rate_limit_error", error.GetProperty("error").GetProperty("type").GetString());
            Assert.StartsWith("hive: anthropic is at its usage or rate limit", error.GetProperty("error").GetProperty("message").GetString());
            Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.FromSeconds(60));
        }
        Assert.Equal(2, _first.Requests);

        // Another provider's agent goes on.
        using (var other = await b1.PostAsync("/v1/messages", MessagesBody(stream: false)))
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(1, _second.Requests);
    }

    private async Task<JsonElement> CircuitAsync(string provider)
    {
        JsonElement found = default;
        await HiveInstance.Until(() =>
        {
            var circuits = _hive.GetJsonAsync("/api/governance").GetAwaiter().GetResult().GetProperty("circuits");
            var match = circuits.EnumerateArray().Where(c => c.GetProperty("provider").GetString() == provider).ToList();
            if (match.Count == 0) return false;
            found = match[0].Clone();
            return true;
        }, what: $"{provider}'s circuit to open");
        return found;
    }
}
