using System.Net;
using static Hive.Tests.Features.Gateway.GatewayKit;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// The door's limits: a provider's slots (<c>MaxInFlight</c>: the provider never sees more at once, the rest wait their
/// turn and all complete), an upstream that hangs (the gateway's timeout, in the provider's format), an agent that drops
/// its stream half-way (the upstream call is cancelled too), and a body over the cap (refused before anything goes upstream).
/// </summary>
public sealed class GatewayLimitsTests : IAsyncLifetime
{
    private static readonly string[] Agents = ["a1", "a2", "a3", "a4", "a5", "a6"];
    private ScriptedUpstream _upstream = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        _upstream = await ScriptedUpstream.StartAsync();
        _hive = await HiveInstance.StartAsync(Agents, Provider(_upstream.BaseUrl,
            "--Hive:Gateway:Providers:anthropic:MaxInFlight", "2",
            "--Hive:Gateway:UpstreamTimeoutSeconds", "3",
            "--Hive:Gateway:MaxRequestBytes", "4096"));
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = NewKey() });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Six_agents_calling_at_once_through_two_slots_never_put_more_than_two_on_the_provider_and_all_complete()
    {
        // Each answer waits until another request is in (or all six were): with two slots the calls go through in pairs;
        // more slots would let more in at once.
        var arrived = 0;
        var pairs = Enumerable.Range(0, 3).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        _upstream.Answer = async context =>
        {
            var n = Interlocked.Increment(ref arrived);
            var pair = pairs[Math.Min((n - 1) / 2, 2)];
            if (n % 2 == 0) pair.TrySetResult();
            await pair.Task.WaitAsync(context.RequestAborted);
            await ScriptedUpstream.WriteMessageAsync(context, 10, 5);
        };
        var calls = Agents.Select(async agent =>
        {
            using var door = Door(_hive, agent);
            using var response = await door.PostAsync("/v1/messages", MessagesBody(stream: false));
            return response.StatusCode;
        }).ToList();

        var statuses = await Task.WhenAll(calls);
        Assert.True(statuses.All(s => s == HttpStatusCode.OK), string.Join(", ", statuses));
        Assert.Equal(6, _upstream.Requests);
        Assert.Equal(2, _upstream.MaxInFlight);
        Assert.Equal(6, (await SettledCallsAsync(_hive, 6)).Count(c => c.State == "complete"));
    }

    [Fact]
    public async Task An_upstream_that_hangs_times_out_in_the_providers_format_and_nothing_is_spent()
    {
        _upstream.Answer = context => Task.Delay(Timeout.Infinite, context.RequestAborted);
        using var door = Door(_hive, "a1");
        using var response = await door.PostAsync("/v1/messages", MessagesBody(stream: false));
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("timeout_error", error.GetProperty("error").GetProperty("type").GetString());
        Assert.StartsWith("hive: ", error.GetProperty("error").GetProperty("message").GetString());
        var call = Assert.Single(await SettledCallsAsync(_hive, 1));
        Assert.Equal(("failed", 504L, 0L, 0L), (call.State, call.Status!.Value, call.InputTokens, call.OutputTokens));
        Assert.Null(call.CostUsd); // nothing was used, nothing is priced
    }

    [Fact]
    public async Task An_agent_that_drops_its_stream_half_way_cancels_the_upstream_call_and_the_call_is_not_complete()
    {
        var started = new TaskCompletionSource();
        _upstream.Answer = async context =>
        {
            await ScriptedUpstream.StartStreamAsync(context, input: 40);
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted); // the rest of the answer never comes: the agent hangs up first
        };
        using (var door = Door(_hive, "a2"))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = MessagesBody() };
            using var response = await door.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await using var body = await response.Content.ReadAsStreamAsync();
            var first = new byte[64];
            Assert.True(await body.ReadAsync(first) > 0);
            await started.Task;
        } // the client goes away mid-stream

        await HiveInstance.Until(() => _upstream.Aborted == 1, TimeSpan.FromSeconds(30), "the upstream call to be cancelled");
        await HiveInstance.Until(() => CallsAsync(_hive).GetAwaiter().GetResult().SingleOrDefault() is { State: "failed" }, TimeSpan.FromSeconds(30),
            "the dropped call to be recorded");
        var call = Assert.Single(await CallsAsync(_hive));
        Assert.Contains("the agent dropped the call", call.Error);
    }

    [Fact]
    public async Task A_body_over_the_cap_is_refused_as_too_large_and_nothing_goes_upstream()
    {
        using var door = Door(_hive, "a3");
        using var response = await door.PostAsync("/v1/messages", MessagesBody(text: new string('x', 5000)));
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", error.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(0, _upstream.Requests);
        Assert.Empty(await CallsAsync(_hive));
    }

    [Fact]
    public async Task A_body_far_over_the_cap_without_expect_continue_still_gets_its_413_not_a_broken_pipe()
    {
        // As Claude Code's client sends: the whole body at once, no "Expect: 100-continue" to wait for a refusal.
        using var door = Door(_hive, "a3");
        door.DefaultRequestHeaders.ExpectContinue = false;
        using var response = await door.PostAsync("/v1/messages", MessagesBody(text: new string('x', 8 * 1024 * 1024)));
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", error.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(0, _upstream.Requests);
    }
}
