using System.Net;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using Hive.Features.Gateway;
using static Hive.Tests.Features.Gateway.GatewayKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// The gateway as the dashboard sees it: <c>model_call</c> summarised per agent per 2 s window, the
/// rows' failing streak with <c>model_calls_failing</c>, the snapshot's <c>gateway</c> section, and the metrics.
/// Calls go through an agent's door to a fake Messages API over real HTTP.
/// </summary>
public sealed class GatewayDashboardTests : IAsyncLifetime
{
    private readonly string _key = NewKey();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--) await _owned[i].DisposeAsync();
    }

    private async Task<HiveInstance> HiveAsync(string upstream, params string[] more)
    {
        var hive = await HiveInstance.StartAsync(["alice", "bob"], Provider(upstream, more));
        _owned.Add(hive);
        using var saved = await hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        return hive;
    }

    private async Task<FakeMessagesApi> FakeAsync(int port = 0)
    {
        var fake = await FakeMessagesApi.StartAsync(_key, port);
        _owned.Insert(0, fake); // stopped after the hive
        return fake;
    }

    private static async Task<HttpStatusCode> CallAsync(HiveInstance hive, string agent, string text = "hello")
    {
        using var door = Door(hive, agent);
        using var response = await door.PostAsync("/v1/messages", MessagesBody(text: text));
        await response.Content.ReadAsStringAsync();
        return response.StatusCode;
    }

    [Fact]
    public async Task Many_quick_calls_of_one_agent_come_as_few_model_call_events_whose_counts_add_up_to_the_calls()
    {
        var model = await FakeAsync();
        var hive = await HiveAsync(model.BaseUrl);
        model.DefaultReply = ModelReply.Text("ok", new FakeMessagesApi.Usage(10, 5));
        await using var events = await hive.OpenEventsAsync();
        const int Calls = 24;

        for (var i = 0; i < Calls; i++) Assert.Equal(HttpStatusCode.OK, await CallAsync(hive, "alice"));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(hive, "bob"));

        // Every call is in some event (the last window's tail too), each agent's counted apart.
        var alice = new List<SseEvent>();
        var bob = new List<ModelCallsSummarisedPayload>();
        while (alice.Sum(e => e.Payload<ModelCallsSummarisedPayload>().Calls) < Calls || bob.Count == 0)
        {
            var e = await events.WaitForAsync("model_call");
            if (e.Payload<ModelCallsSummarisedPayload>().Agent == "alice") alice.Add(e);
            else bob.Add(e.Payload<ModelCallsSummarisedPayload>());
        }
        var summaries = alice.Select(e => e.Payload<ModelCallsSummarisedPayload>()).ToList();
        var ids = (await CallsAsync(hive)).Where(c => c.Agent == "alice").Select(c => c.Id).ToList();
        Assert.Equal(Calls, summaries.Sum(e => e.Calls));
        Assert.True(alice.Count <= Calls / 3, $"{alice.Count} model_call events for {Calls} calls: not summarised");
        Assert.Equal(Calls * 15L, summaries.Sum(e => e.Tokens));
        Assert.Equal(0, summaries.Sum(e => e.Failed + e.Refused));
        var last = summaries[^1].Last;
        Assert.Equal(ids.Max(), last.Id);
        Assert.Equal(("complete", 200, "claude-test"), (last.State, last.Status!.Value, last.Model));
        Assert.Equal(1, Assert.Single(bob).Calls);
        Assert.Equal(JsonValueKind.Null, alice[^1].Json.GetProperty("failing").ValueKind); // present and null, raw
    }

    [Fact]
    public async Task A_provider_that_refuses_connections_puts_a_failing_streak_on_the_row_and_its_return_ends_it()
    {
        var port = HostProcess.FreePort(); // nobody listens on it: every connection is refused
        var hive = await HiveAsync($"http://127.0.0.1:{port}");
        await using var events = await hive.OpenEventsAsync();

        Assert.Equal(HttpStatusCode.BadGateway, await CallAsync(hive, "alice"));
        var started = await events.WaitForPayloadAsync<ModelCallsFailingPayload>("model_calls_failing", e => e.Failing);
        Assert.Equal(("alice", "anthropic", 1), (started.Agent, started.Provider, started.Count));
        Assert.Equal($"connection refused to 127.0.0.1:{port}", started.Streak!.LastError);

        Assert.Equal(HttpStatusCode.BadGateway, await CallAsync(hive, "alice"));
        Assert.Equal(HttpStatusCode.BadGateway, await CallAsync(hive, "alice"));
        // The summary's count as it goes (booked just after the client has its 502), then the snapshot's row (no record: its
        // streak is the streak's record).
        var summary = await events.WaitForPayloadAsync<ModelCallsSummarisedPayload>("model_call", e => e.Failing is { Count: 3 });
        Assert.Equal("failed", summary.Last.State);
        var row = RowOf(await hive.GetJsonAsync("/api/state"), "alice").GetProperty("model_calls_failing").Deserialize<FailingStreakView>(HiveJson.Options)!;
        Assert.Equal((3, "anthropic", $"connection refused to 127.0.0.1:{port}"), (row.Count, row.Provider, row.LastError));
        Assert.Equal(started.Since, row.Since);
        Assert.Equal(JsonValueKind.Null, RowOf(await hive.GetJsonAsync("/api/state"), "bob").GetProperty("model_calls_failing").ValueKind);

        // The provider comes back on that port: the next call goes through and the streak ends.
        await FakeAsync(port);
        Assert.Equal(HttpStatusCode.OK, await CallAsync(hive, "alice"));
        var ended = await events.WaitForAsync("model_calls_failing", e => !e.GetProperty("failing").GetBoolean());
        Assert.Equal(3, ended.Payload<ModelCallsFailingPayload>().Count);
        Assert.Equal(JsonValueKind.Null, ended.Json.GetProperty("streak").ValueKind); // present and null, raw
        Assert.Equal(JsonValueKind.Null, RowOf(await hive.GetJsonAsync("/api/state"), "alice").GetProperty("model_calls_failing").ValueKind);
    }

    [Fact]
    public async Task The_state_lists_each_provider_with_its_slots_and_never_its_key()
    {
        var model = await FakeAsync();
        var hive = await HiveAsync(model.BaseUrl, "--Hive:Gateway:Providers:local:Protocol", "openai",
            "--Hive:Gateway:Providers:local:Upstream", "http://127.0.0.1:9/v1-base", "--Hive:Gateway:Providers:local:KeySecret", "local-key",
            "--Hive:Gateway:Providers:local:MaxInFlight", "4");
        Assert.Equal(HttpStatusCode.OK, await CallAsync(hive, "alice"));

        var state = await hive.GetJsonAsync("/api/state");
        // The snapshot's section has no record of its own; its providers are the provider records.
        var raw = state.GetProperty("gateway").GetProperty("providers");
        var providers = raw.Deserialize<List<ProviderView>>(HiveJson.Options)!;
        Assert.Equal(["anthropic", "local"], providers.Select(p => p.Name));
        var anthropic = providers[0];
        Assert.Equal(("anthropic", new Uri(model.BaseUrl).Authority, 0, 0), (anthropic.Protocol, anthropic.UpstreamHost, anthropic.InFlight, anthropic.Waiting));
        // Present and null, raw.
        Assert.Equal(JsonValueKind.Null, raw[0].GetProperty("slots").ValueKind);
        Assert.Equal(JsonValueKind.Null, raw[0].GetProperty("limits").ValueKind); // the fake names none
        var local = providers[1];
        Assert.Equal(("openai", "127.0.0.1:9", 4), (local.Protocol, local.UpstreamHost, local.Slots!.Value));
        Assert.DoesNotContain(_key, state.GetRawText());
    }

    [Fact]
    public async Task Calls_tokens_cost_and_latency_are_scraped_by_provider_and_model()
    {
        var model = await FakeAsync();
        var metricsPort = HostProcess.FreePort();
        var hive = await HiveAsync(model.BaseUrl, "--Hive:Metrics:Urls", $"http://127.0.0.1:{metricsPort}");
        using var scraper = new HttpClient();
        string Scrape() => scraper.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics").GetAwaiter().GetResult();

        // Before any call: the priced model's series and every refusal reason are there at 0.
        var before = Scrape();
        Assert.Equal(0, V(before, "hive_model_calls_total", "model=\"claude-test\"", "provider=\"anthropic\"", "state=\"complete\""));
        foreach (var reason in GatewayMetrics.RefusalReasons)
            Assert.Equal(0, V(before, "hive_model_calls_refused_total", "provider=\"anthropic\"", $"reason=\"{reason}\""));

        model.DefaultReply = ModelReply.Text("ok", new FakeMessagesApi.Usage(1000, 500));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(hive, "alice"));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(hive, "bob"));

        var metrics = "";
        await HiveInstance.Until(() =>
        {
            metrics = Scrape();
            return V(metrics, "hive_model_calls_total", "model=\"claude-test\"", "provider=\"anthropic\"", "state=\"complete\"") == 2;
        }, what: "two complete calls counted");
        Assert.Equal(2000, V(metrics, "hive_model_call_tokens_total", "kind=\"input\"", "model=\"claude-test\"", "provider=\"anthropic\""));
        Assert.Equal(1000, V(metrics, "hive_model_call_tokens_total", "kind=\"output\"", "model=\"claude-test\"", "provider=\"anthropic\""));
        Assert.Equal(4, V(metrics, "hive_model_call_cost_usd_total", "model=\"claude-test\"", "provider=\"anthropic\"")!.Value, 6);
        Assert.Equal(2, V(metrics, "hive_model_call_duration_seconds_count", "provider=\"anthropic\""));
        Assert.Equal(2, V(metrics, "hive_model_call_first_byte_seconds_count", "provider=\"anthropic\""));
        // The gateway's own time before each call left: part of each call's whole time, never more.
        Assert.Equal(2, V(metrics, "hive_gateway_overhead_seconds_count", "provider=\"anthropic\""));
        Assert.InRange(V(metrics, "hive_gateway_overhead_seconds_sum", "provider=\"anthropic\"")!.Value, 0,
            V(metrics, "hive_model_call_duration_seconds_sum", "provider=\"anthropic\"")!.Value);
    }

    [Theory]
    [InlineData(429, "hive: anthropic is at its limit until 10:42", "quota")]
    [InlineData(400, "hive: alice is over its daily budget ($2.04 of $2.00); the operator has been asked", "budget")]
    [InlineData(400, "hive: the hive is halted by the operator", "halted")]
    [InlineData(400, "hive: alice is paused", "paused")]
    [InlineData(400, "hive: something else", "other")]
    public void A_refusals_reason_is_read_from_its_status_and_sentence(int status, string error, string reason) =>
        Assert.Equal(reason, GatewayMetrics.ReasonOf(status, error));

    private static double? V(string exposition, string name, params string[] labels) => Host.MetricsTests.Value(exposition, name, string.Join(",", labels));

    private static JsonElement RowOf(JsonElement state, string agent) =>
        state.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == agent);
}
