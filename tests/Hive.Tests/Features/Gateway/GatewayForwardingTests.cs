using System.Net;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using Hive.Features.Gateway.Recordings;
using static Hive.Tests.Features.Gateway.GatewayKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// An agent's model call through its door: forwarded to the provider (a fake Messages API over real HTTP) with the real
/// key added on the host side, streamed back, metered from the provider's own usage at the configured price, recorded.
/// </summary>
public sealed class GatewayForwardingTests : IAsyncLifetime
{
    private readonly string _key = NewKey();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        _model = await FakeMessagesApi.StartAsync(_key);
        _hive = await HiveInstance.StartAsync(["alice", "bob"], Provider(_model.BaseUrl));
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await _model.DisposeAsync();
    }

    [Fact]
    public async Task A_streamed_call_reaches_the_provider_with_the_real_key_and_is_metered_from_its_usage()
    {
        _model.Enqueue(ModelReply.Text("Hello from the model, in pieces.", new FakeMessagesApi.Usage(1000, 500)));
        using var door = Door(_hive, "alice");
        using var response = await door.PostAsync("/v1/messages", MessagesBody());
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("message_stop", text);
        var seen = Assert.Single(_model.MessagesRequests);
        Assert.True(seen.ApiKeyMatched); // the real key went upstream; the agent never had it

        var call = Assert.Single(await SettledCallsAsync(_hive, 1));
        Assert.Equal(("alice", "complete", 200L), (call.Agent, call.State, call.Status!.Value));
        Assert.Equal((1000L, 500L), (call.InputTokens, call.OutputTokens));
        Assert.Equal(1000 * 1000 / 1e6 + 500 * 2000 / 1e6, call.CostUsd!.Value, 9); // $1 + $1 at the configured prices
        Assert.NotNull(call.RequestBody);
        Assert.NotNull(call.ResponseBody);
    }

    [Fact]
    public async Task Another_agents_key_on_a_door_is_refused_in_the_providers_format_and_nothing_goes_upstream()
    {
        var bobs = _hive.Service<Hive.Shared.Gateway.IAgentGateways>().For("bob", "anthropic")!.PlaceholderKey;
        using var door = Door(_hive, "alice", key: bobs);
        using var response = await door.PostAsync("/v1/messages", MessagesBody());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Equal("authentication_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.Empty(_model.Requests);
        Assert.Empty(await CallsAsync(_hive));
    }

    [Theory]
    [InlineData("not json", HttpStatusCode.BadRequest, "invalid_request_error")]
    [InlineData("[1,2]", HttpStatusCode.BadRequest, "invalid_request_error")]
    public async Task A_body_that_is_not_a_json_object_is_refused_and_nothing_goes_upstream(string body, HttpStatusCode status, string type)
    {
        using var door = Door(_hive, "alice");
        using var response = await door.PostAsync("/v1/messages", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(type, error.GetProperty("error").GetProperty("type").GetString());
        Assert.StartsWith("hive: ", error.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(_model.Requests);
    }

    [Fact]
    public async Task An_unknown_path_is_not_found_in_the_providers_format()
    {
        using var door = Door(_hive, "alice");
        using var response = await door.PostAsync("/v1/complete", MessagesBody());
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found_error", error.GetProperty("error").GetProperty("type").GetString());
        Assert.Empty(_model.Requests);
    }

    [Fact]
    public async Task A_recorded_call_reads_back_as_a_person_reads_it_and_another_agent_cannot_see_it()
    {
        _model.Enqueue(ModelReply.ToolUse("mcp__hive__send", """{"to":"bob","body":"hi"}""", textBefore: "Greeting bob now."));
        using (var door = Door(_hive, "alice"))
        using (var response = await door.PostAsync("/v1/messages", MessagesBody(text: "please greet bob")))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = Assert.Single(await SettledCallsAsync(_hive, 1)).Id;

        // The operator: the list of alice's calls, and the call with its bodies and a reading of them.
        var list = await _hive.GetAsync<List<CallView>>("/api/agents/alice/calls");
        Assert.Equal(id, Assert.Single(list).Id);
        var raw = await _hive.GetJsonAsync($"/api/calls/{id}");
        var call = raw.Deserialize<CallDetail>(HiveJson.Options)!;
        Assert.Contains("please greet bob", call.Request);
        Assert.DoesNotContain(_key, raw.GetRawText()); // the whole body as sent, raw
        var readable = call.Readable!;
        Assert.Equal("please greet bob", readable.LastMessages[0].Parts[0].Text);
        var answer = readable.Answer!.Parts;
        Assert.Contains(answer, p => p.Kind == "text" && p.Text == "Greeting bob now.");
        Assert.Contains(answer, p => p.Kind == "tool_use" && p.Name == "mcp__hive__send" && p.Text.Contains("\"to\":\"bob\"", StringComparison.Ordinal));

        // alice reads her own over her socket; bob gets the same 404 as for no call at all.
        await using (var alice = await _hive.ConnectAsync("alice"))
        {
            var own = await alice.CallAsync(GatewayVerbs.Call, new CallArgs(id));
            Assert.Equal(id, own.Call.Id);
        }
        await using var bob = await _hive.ConnectAsync("bob");
        var refused = await bob.RefusalOfAsync(GatewayVerbs.Call, new CallArgs(id));
        var none = await bob.RefusalOfAsync(GatewayVerbs.Call, new CallArgs(id + 1000));
        Assert.Equal("not_found", refused.Code);
        Assert.Equal(none.Error, refused.Error.Replace($"{id}", $"{id + 1000}"));
        Assert.Empty((await bob.CallAsync(GatewayVerbs.Calls, new CallsArgs(null, null, null))).Calls);
    }

    [Fact]
    public async Task The_operator_turns_off_the_recording_of_one_agents_calls_and_they_are_still_metered_without_their_bodies()
    {
        await using var events = await _hive.OpenEventsAsync();
        using (var off = await _hive.Http.PutAsJsonAsync("/api/agents/alice/calls/recording", new { on = false }))
        {
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
            Assert.False((await off.Content.ReadFromJsonAsync<SetCallRecording.Result>(HiveJson.Options))!.Recording);
        }
        await events.WaitForPayloadAsync<CallRecordingChangedPayload>("call_recording_changed", e => e.Agent == "alice" && !e.Recording);
        var rows = (await _hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        Assert.False(rows["alice"].GetProperty("calls_recorded").GetBoolean());
        Assert.True(rows["bob"].GetProperty("calls_recorded").GetBoolean());

        _model.Enqueue(ModelReply.Text("unrecorded", new FakeMessagesApi.Usage(1000, 500)));
        _model.Enqueue(ModelReply.Text("recorded", new FakeMessagesApi.Usage(1000, 500)));
        foreach (var agent in new[] { "alice", "bob" })
        {
            using var door = Door(_hive, agent);
            using var response = await door.PostAsync("/v1/messages", MessagesBody(text: $"from {agent}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var calls = (await SettledCallsAsync(_hive, 2)).ToDictionary(c => c.Agent);
        Assert.Equal((1000L, 500L, "complete"), (calls["alice"].InputTokens, calls["alice"].OutputTokens, calls["alice"].State)); // metered all the same
        Assert.Equal((null, null), (calls["alice"].RequestBody, calls["alice"].ResponseBody));
        Assert.NotNull(calls["bob"].RequestBody);
        var alices = await _hive.GetJsonAsync($"/api/calls/{calls["alice"].Id}");
        Assert.False(alices.Deserialize<CallDetail>(HiveJson.Options)!.Call.Recorded);
        Assert.Equal(JsonValueKind.Null, alices.GetProperty("request").ValueKind); // present and null, raw

        // On again: the next call is recorded.
        using (var on = await _hive.Http.PutAsJsonAsync("/api/agents/alice/calls/recording", new { on = true })) Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        _model.Enqueue(ModelReply.Text("recorded again", new FakeMessagesApi.Usage(10, 5)));
        using (var door = Door(_hive, "alice"))
        using (var response = await door.PostAsync("/v1/messages", MessagesBody(text: "again")))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull((await SettledCallsAsync(_hive, 3)).Last(c => c.Agent == "alice").RequestBody);
    }

    [Theory]
    [InlineData("nobody", """{"on":false}""", HttpStatusCode.NotFound)]
    [InlineData("alice", """{"on":"no"}""", HttpStatusCode.BadRequest)]
    [InlineData("alice", """{}""", HttpStatusCode.BadRequest)]
    public async Task A_bad_recording_switch_is_refused_and_changes_nothing(string agent, string body, HttpStatusCode status)
    {
        using var response = await _hive.Http.PutAsync($"/api/agents/{agent}/calls/recording",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0L, _hive.QueryDb<long>("SELECT count(*) FROM calls_unrecorded"));
    }
}
