using System.Text;
using System.Text.Json.Nodes;
using static Hive.Testing.FakeMessagesApi;

namespace Hive.Tests.Infrastructure;

/// <summary>
/// The test double of the Messages API itself, over plain HTTP (what Claude Code makes of it is in
/// <see cref="ClaudeCodeTests"/>): the streamed events in the API's order and shape, the plain JSON answer, the key
/// check, the scripted queue and its default, and the answers to calls it does not know.
/// </summary>
public sealed class FakeMessagesApiTests : IAsyncLifetime
{
    private const string Key = "sk-ant-test-fake-messages-api";
    private FakeMessagesApi _api = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeMessagesApi.StartAsync(Key);
        _http = new HttpClient { BaseAddress = new Uri(_api.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Add("x-api-key", Key);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _api.DisposeAsync();
    }

    private Task<HttpResponseMessage> PostAsync(string path, object body) => _http.PostAsync(path,
        new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));

    private static object Ask(string text, bool stream, string model = "claude-test-1") =>
        new { model, max_tokens = 100, stream, messages = new[] { new { role = "user", content = text } } };

    /// <summary>The events of an SSE body: (event, data) pairs, each event's type repeated in its data as the API does.</summary>
    private static List<(string Event, JsonObject Data)> Events(string body) => body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
        .Select(block =>
        {
            var lines = block.Split('\n');
            var type = lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))["event: ".Length..];
            var data = JsonNode.Parse(lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..])!.AsObject();
            Assert.Equal(type, data["type"]!.GetValue<string>());
            return (type, data);
        }).ToList();

    [Fact]
    public async Task Streams_text_then_a_tool_call_in_the_apis_event_order_with_the_usage()
    {
        var call = ModelReply.ToolUse("get_weather", """{"city":"Zürich","days":[1,2,3]}""", textBefore: "Let me look that up for you.",
            usage: new Usage(InputTokens: 321, OutputTokens: 45, CacheCreationInputTokens: 7, CacheReadInputTokens: 9));
        _api.Enqueue(call);

        using var response = await PostAsync("/v1/messages?beta=true", Ask("weather?", stream: true, model: "claude-echoed-9"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.True(response.Headers.Contains("request-id"));
        var events = Events(await response.Content.ReadAsStringAsync());
        Assert.Equal(["message_start", "ping", "content_block_start"], events.Take(3).Select(e => e.Event));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], events.TakeLast(3).Select(e => e.Event));

        var start = events[0].Data["message"]!;
        Assert.Equal("claude-echoed-9", start["model"]!.GetValue<string>());
        Assert.Equal("assistant", start["role"]!.GetValue<string>());
        Assert.Empty(start["content"]!.AsArray());
        Assert.Equal(321, start["usage"]!["input_tokens"]!.GetValue<int>());
        Assert.Equal(7, start["usage"]!["cache_creation_input_tokens"]!.GetValue<int>());
        Assert.Equal(9, start["usage"]!["cache_read_input_tokens"]!.GetValue<int>());

        var text = string.Concat(events.Where(e => e.Data["index"]?.GetValue<int>() == 0 && e.Event == "content_block_delta")
            .Select(e => { Assert.Equal("text_delta", e.Data["delta"]!["type"]!.GetValue<string>()); return e.Data["delta"]!["text"]!.GetValue<string>(); }));
        Assert.Equal("Let me look that up for you.", text);
        Assert.True(events.Count(e => e.Event == "content_block_delta" && e.Data["index"]!.GetValue<int>() == 0) > 1, "the text comes in pieces");

        var toolStart = events.Single(e => e.Event == "content_block_start" && e.Data["index"]!.GetValue<int>() == 1).Data["content_block"]!;
        Assert.Equal("tool_use", toolStart["type"]!.GetValue<string>());
        Assert.Equal(call.ToolUseId, toolStart["id"]!.GetValue<string>());
        Assert.Equal("get_weather", toolStart["name"]!.GetValue<string>());
        var json = string.Concat(events.Where(e => e.Event == "content_block_delta" && e.Data["index"]!.GetValue<int>() == 1)
            .Select(e => { Assert.Equal("input_json_delta", e.Data["delta"]!["type"]!.GetValue<string>()); return e.Data["delta"]!["partial_json"]!.GetValue<string>(); }));
        Assert.Equal("""{"city":"Zürich","days":[1,2,3]}""", json);
        Assert.Equal(2, events.Count(e => e.Event == "content_block_stop"));

        var delta = events.Single(e => e.Event == "message_delta").Data;
        Assert.Equal("tool_use", delta["delta"]!["stop_reason"]!.GetValue<string>());
        Assert.Equal(45, delta["usage"]!["output_tokens"]!.GetValue<int>());

        var request = Assert.Single(_api.Requests);
        Assert.Equal(("POST", "/v1/messages", "?beta=true"), (request.Method, request.Path, request.Query));
        Assert.Equal("claude-echoed-9", request.Model);
        Assert.True(request.Stream && request.ApiKeyMatched && request.Mentions("weather?"));
        Assert.Same(call, request.Reply);
        Assert.Equal("(redacted)", request.Headers["x-api-key"]);
    }

    [Fact]
    public async Task Answers_one_json_message_when_not_streaming_then_the_default_once_the_queue_is_empty()
    {
        _api.Enqueue(_ => ModelReply.Text("decided late"));

        using var first = await PostAsync("/v1/messages", Ask("one", stream: false));
        using var second = await PostAsync("/v1/messages", Ask("two", stream: false));

        var message = JsonNode.Parse(await first.Content.ReadAsStringAsync())!;
        Assert.Equal("message", message["type"]!.GetValue<string>());
        Assert.Equal("claude-test-1", message["model"]!.GetValue<string>());
        Assert.Equal("decided late", message["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("end_turn", message["stop_reason"]!.GetValue<string>());
        Assert.Equal(ModelReply.DefaultUsage.OutputTokens, message["usage"]!["output_tokens"]!.GetValue<int>());
        var fallback = JsonNode.Parse(await second.Content.ReadAsStringAsync())!;
        Assert.Equal("OK.", fallback["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("end_turn", fallback["stop_reason"]!.GetValue<string>());
        Assert.Equal(0, _api.PendingReplies);
    }

    [Fact]
    public async Task Refuses_another_key_with_401_and_answers_unknown_calls_with_the_apis_404()
    {
        using var wrong = new HttpClient { BaseAddress = new Uri(_api.BaseUrl) };
        wrong.DefaultRequestHeaders.Add("x-api-key", "sk-ant-someone-else");
        _api.Enqueue(ModelReply.Text("kept for the right key"));

        using var refused = await wrong.PostAsJsonAsync("/v1/messages", Ask("hi", stream: true));
        using var unknown = await _http.GetAsync("/v1/models");
        using var counted = await PostAsync("/v1/messages/count_tokens", Ask("count me", stream: false));
        using var probe = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/hello"));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal("error", error["type"]!.GetValue<string>());
        Assert.Equal("authentication_error", error["error"]!["type"]!.GetValue<string>());
        Assert.Equal(1, _api.PendingReplies);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("not_found_error", JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!["error"]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, counted.StatusCode);
        Assert.True(JsonNode.Parse(await counted.Content.ReadAsStringAsync())!["input_tokens"]!.GetValue<int>() > 0);
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        Assert.Equal([false, true, true, true], _api.Requests.Select(r => r.ApiKeyMatched));
        Assert.Equal(["POST /v1/messages", "GET /v1/models", "POST /v1/messages/count_tokens", "HEAD /api/hello"],
            _api.Requests.Select(r => $"{r.Method} {r.Path}"));
    }

    [Fact]
    public async Task A_scripted_error_is_answered_with_its_status_and_a_wait_that_sees_nothing_says_what_came()
    {
        _api.Enqueue(ModelReply.Error(529, "overloaded_error", "Overloaded"));

        var waiting = _api.WaitForRequestAsync(r => r.IsMessages && r.Mentions("the awaited one"));
        using var overloaded = await PostAsync("/v1/messages", Ask("not this one", stream: true));
        using var awaited = await PostAsync("/v1/messages", Ask("the awaited one", stream: true));

        Assert.Equal((HttpStatusCode)529, overloaded.StatusCode);
        Assert.Equal("overloaded_error", JsonNode.Parse(await overloaded.Content.ReadAsStringAsync())!["error"]!["type"]!.GetValue<string>());
        Assert.Equal(1, (await waiting).Index);
        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => _api.WaitForRequestAsync(r => r.Path == "/never", TimeSpan.FromMilliseconds(200)));
        Assert.Contains("not this one", timeout.Message);
    }
}
