using System.Net;
using System.Text;
using Hive.Shared.Gateway;
using Hive.Tests.Features.Containers;
using static Hive.Tests.Features.Gateway.GatewayKit;
using OpenAiReply = Hive.Testing.FakeOpenAiApi.Reply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// The gateway's <c>openai</c> protocol end to end: an agent on a provider of protocol <c>openai</c> (a fake OpenAI API
/// over real HTTP) calls <c>/v1/chat/completions</c> and <c>/v1/responses</c>, streamed and not, through its door; the
/// provider gets the real key as a Bearer token, a chat stream is made to carry its usage, and each call is metered from
/// the provider's own figures (cached prompt tokens apart) at the configured price. The gateway's refusals are in
/// OpenAI's error format; a 429 opens the provider's circuit for the reset it named, and only that provider's; an agent
/// under the process driver gets <c>OPENAI_BASE_URL</c> (with <c>/v1</c>) and a placeholder <c>OPENAI_API_KEY</c>.
/// </summary>
public sealed class GatewayOpenAiTests : IAsyncLifetime
{
    private const string Agent = "oa";
    private readonly string _openAiKey = "sk-proj-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
    private readonly string _anthropicKey = NewKey();
    private FakeOpenAiApi _openAi = null!;
    private FakeMessagesApi _anthropic = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        _openAi = await FakeOpenAiApi.StartAsync(_openAiKey);
        _anthropic = await FakeMessagesApi.StartAsync(_anthropicKey);
        _hive = await HiveInstance.StartAsync(["alice"], [.. Provider(_anthropic.BaseUrl), .. OpenAiProvider(_openAi.BaseUrl)]);
        foreach (var (secret, value) in new[] { ("anthropic", _anthropicKey), ("openai", _openAiKey) })
            using (var saved = await _hive.Http.PutAsJsonAsync($"/api/secrets/{secret}", new { value }))
                Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        // An agent the operator runs itself (socket only, no process), whose calls go to the openai provider.
        using var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name = Agent, driver = "external", provider = "openai" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await _openAi.DisposeAsync();
        await _anthropic.DisposeAsync();
    }

    private string Placeholder => _hive.Service<IAgentGateways>().For(Agent, "openai")!.PlaceholderKey;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static StringContent ChatBody(bool stream, string extra = "") => Json(
        $$"""{"model":"gpt-test","stream":{{(stream ? "true" : "false")}}{{extra}},"messages":[{"role":"user","content":"hello"}]}""");

    private static StringContent ResponsesBody(bool stream) => Json(
        $$"""{"model":"gpt-test","stream":{{(stream ? "true" : "false")}},"input":"hello"}""");

    private async Task<JsonElement> OnlyCallAsync(string agent = Agent)
    {
        JsonElement call = default;
        await HiveInstance.Until(() =>
        {
            var calls = _hive.GetJsonAsync($"/api/agents/{agent}/calls").GetAwaiter().GetResult().EnumerateArray().ToList();
            if (calls.Count != 1 || calls[0].GetProperty("state").GetString() == "open") return false;
            call = calls[0].Clone();
            return true;
        }, what: $"{agent}'s one call to be recorded");
        return call;
    }

    private static void AssertOpenAiError(JsonElement body)
    {
        var error = body.GetProperty("error");
        Assert.Equal(["message", "type", "param", "code"], error.EnumerateObject().Select(p => p.Name));
        Assert.StartsWith("hive: ", error.GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
    }

    [Theory]
    [InlineData("/v1/chat/completions", true)]
    [InlineData("/v1/chat/completions", false)]
    [InlineData("/v1/responses", true)]
    [InlineData("/v1/responses", false)]
    public async Task A_call_goes_up_with_the_real_key_as_bearer_and_is_metered_from_the_providers_usage(string path, bool stream)
    {
        _openAi.Enqueue(OpenAiReply.Text("Hello from the model, in pieces.", new FakeOpenAiApi.Usage(1000, 500, CachedTokens: 400)));
        using var door = OpenAiDoor(_hive, Agent);
        using var response = await door.PostAsync(path, path.EndsWith("completions", StringComparison.Ordinal) ? ChatBody(stream) : ResponsesBody(stream));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (stream) Assert.Contains(path == "/v1/responses" ? "event: response.completed" : "data: [DONE]", text);
        else Assert.Contains("Hello from the model, in pieces.", text);
        var seen = Assert.Single(_openAi.ModelRequests);
        Assert.Equal(path, seen.Path);
        Assert.True(seen.KeyMatched); // the real key, as a Bearer token
        Assert.False(seen.Carries(Placeholder)); // and never the agent's placeholder
        Assert.Equal(stream, seen.Stream);
        if (path == "/v1/chat/completions" && stream) Assert.True(seen.IncludeUsage); // asked for by the gateway: the agent did not

        var call = await OnlyCallAsync();
        Assert.Equal(("complete", 200, path, stream), (call.GetProperty("state").GetString(), call.GetProperty("status").GetInt32(),
            call.GetProperty("path").GetString(), call.GetProperty("streamed").GetBoolean()));
        // prompt tokens less the cached ones are input; the cached ones are cache reads.
        Assert.Equal((600L, 400L, 500L, 0L), (call.GetProperty("input_tokens").GetInt64(), call.GetProperty("cache_read_tokens").GetInt64(),
            call.GetProperty("output_tokens").GetInt64(), call.GetProperty("cache_write_tokens").GetInt64()));
        Assert.Equal((600 * 1000 + 400 * 100 + 500 * 4000) / 1e6, call.GetProperty("cost_usd").GetDouble(), 9);
        var detail = await _hive.GetJsonAsync($"/api/calls/{call.GetProperty("id").GetInt64()}");
        Assert.DoesNotContain(_openAiKey, detail.GetRawText());
        // The recorded answer reads as a person reads it, streamed or not.
        var answer = detail.GetProperty("readable").GetProperty("answer").GetProperty("parts").EnumerateArray();
        Assert.Contains(answer, p => p.GetProperty("kind").GetString() == "text" && p.GetProperty("text").GetString() == "Hello from the model, in pieces.");
    }

    [Fact]
    public async Task A_chat_stream_that_asked_for_no_usage_does_not_get_a_usage_chunk_it_did_not_ask_for()
    {
        _openAi.Enqueue(OpenAiReply.Text("Hello.", new FakeOpenAiApi.Usage(100, 50)));
        using var door = OpenAiDoor(_hive, Agent);
        using var response = await door.PostAsync("/v1/chat/completions", ChatBody(stream: true));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(Assert.Single(_openAi.ModelRequests).IncludeUsage);
        // What the agent reads is what the API answers a request without stream_options: every chunk has a choice.
        var chunks = text.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement.Clone()).ToList();
        Assert.NotEmpty(chunks);
        Assert.All(chunks, c => Assert.NotEqual(0, c.GetProperty("choices").GetArrayLength()));
        Assert.EndsWith("data: [DONE]\n\n", text);
        var call = await OnlyCallAsync();
        Assert.Equal((100L, 50L), (call.GetProperty("input_tokens").GetInt64(), call.GetProperty("output_tokens").GetInt64()));
    }

    [Fact]
    public async Task A_chat_stream_that_asked_for_its_usage_gets_it_as_the_api_sends_it()
    {
        _openAi.Enqueue(OpenAiReply.Text("Hello.", new FakeOpenAiApi.Usage(100, 50)));
        using var door = OpenAiDoor(_hive, Agent);
        using var response = await door.PostAsync("/v1/chat/completions", ChatBody(stream: true, extra: ""","stream_options":{"include_usage":true}"""));
        var text = await response.Content.ReadAsStringAsync();

        var last = text.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)).Last();
        var usage = JsonDocument.Parse(last["data: ".Length..]).RootElement.GetProperty("usage");
        Assert.Equal(100, usage.GetProperty("prompt_tokens").GetInt32());
        var call = await OnlyCallAsync();
        Assert.Equal((100L, 50L), (call.GetProperty("input_tokens").GetInt64(), call.GetProperty("output_tokens").GetInt64()));
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/responses")]
    public async Task A_stream_the_provider_fails_half_way_is_a_failed_call_with_the_providers_message(string path)
    {
        _openAi.Enqueue(OpenAiReply.FailMidStream("The server had an error while processing your request."));
        using var door = OpenAiDoor(_hive, Agent);
        using var response = await door.PostAsync(path, path == "/v1/responses" ? ResponsesBody(stream: true) : ChatBody(stream: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the stream had begun: the failure is in it, passed on
        Assert.Contains("The server had an error", await response.Content.ReadAsStringAsync());

        var call = await OnlyCallAsync();
        Assert.Equal("failed", call.GetProperty("state").GetString());
        Assert.Equal("The server had an error while processing your request.", call.GetProperty("error").GetString());
    }

    [Fact]
    public async Task The_providers_limits_on_a_successful_call_are_kept_for_the_governance_section()
    {
        _openAi.Enqueue(OpenAiReply.Text("Hi.", headers: new Dictionary<string, string>
        {
            ["x-ratelimit-limit-requests"] = "60", ["x-ratelimit-remaining-requests"] = "59", ["x-ratelimit-reset-requests"] = "1s",
            ["x-ratelimit-limit-tokens"] = "150000", ["x-ratelimit-remaining-tokens"] = "149984", ["x-ratelimit-reset-tokens"] = "6m0s",
        }));
        var before = DateTimeOffset.UtcNow;
        using var door = OpenAiDoor(_hive, Agent);
        using (var response = await door.PostAsync("/v1/chat/completions", ChatBody(stream: false)))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var providers = (await _hive.GetJsonAsync("/api/state")).GetProperty("gateway").GetProperty("providers").EnumerateArray();
        var limits = providers.Single(p => p.GetProperty("name").GetString() == "openai").GetProperty("limits");
        Assert.Equal((59L, 149984L), (limits.GetProperty("requests_remaining").GetInt64(), limits.GetProperty("tokens_remaining").GetInt64()));
        Assert.InRange(limits.GetProperty("tokens_reset").GetDateTimeOffset(), before.AddMinutes(6).AddSeconds(-1), DateTimeOffset.UtcNow.AddMinutes(6).AddSeconds(1));
    }

    [Theory]
    [InlineData("unknown path")]
    [InlineData("not json")]
    [InlineData("not an object")]
    [InlineData("another agent's key")]
    public async Task A_call_the_gateway_refuses_is_answered_in_openais_format_and_nothing_goes_upstream(string what)
    {
        var othersKey = _hive.Service<IAgentGateways>().For("alice", "anthropic")!.PlaceholderKey;
        using var door = OpenAiDoor(_hive, Agent, key: what == "another agent's key" ? othersKey : null);
        var (path, body, status) = what switch
        {
            "unknown path" => ("/v1/completions", ChatBody(stream: false), HttpStatusCode.NotFound),
            "not json" => ("/v1/chat/completions", Json("not json"), HttpStatusCode.BadRequest),
            "not an object" => ("/v1/responses", Json("[1,2]"), HttpStatusCode.BadRequest),
            _ => ("/v1/chat/completions", ChatBody(stream: true), HttpStatusCode.Unauthorized),
        };
        using var response = await door.PostAsync(path, body);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        AssertOpenAiError(await response.Content.ReadFromJsonAsync<JsonElement>());
        Assert.Empty(_openAi.Requests);
    }

    [Fact]
    public async Task Over_its_budget_the_next_call_is_refused_in_openais_format_with_a_status_not_retried()
    {
        using (var set = await _hive.Http.PutAsJsonAsync($"/api/governance/budgets/{Agent}", new { daily_usd = 0.01 })) set.EnsureSuccessStatusCode();
        _openAi.Enqueue(OpenAiReply.Text("Costly.", new FakeOpenAiApi.Usage(20, 5))); // $0.04
        using var door = OpenAiDoor(_hive, Agent);
        using (var first = await door.PostAsync("/v1/chat/completions", ChatBody(stream: true)))
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await OnlyCallAsync();

        using var refused = await door.PostAsync("/v1/responses", ResponsesBody(stream: true));
        var body = await refused.Content.ReadFromJsonAsync<JsonElement>();

        // 403 is a PermissionDeniedError to the openai SDKs, which they do not retry (they retry 408, 409, 429 and 5xx).
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        AssertOpenAiError(body);
        Assert.Contains($"{Agent} is over its daily budget", body.GetProperty("error").GetProperty("message").GetString());
        Assert.Single(_openAi.ModelRequests);
    }

    [Fact]
    public async Task In_a_halted_hive_a_call_is_refused_in_openais_format_and_nothing_goes_upstream()
    {
        using (var halt = await _hive.Http.PostAsJsonAsync("/api/governance/halt", new { reason = "maintenance" }))
            Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
        using var door = OpenAiDoor(_hive, Agent);
        using var refused = await door.PostAsync("/v1/chat/completions", ChatBody(stream: true));
        var body = await refused.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        AssertOpenAiError(body);
        Assert.Contains("the hive is halted", body.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(_openAi.Requests);
    }

    [Theory]
    [InlineData(null, 360)] // the exhausted limit's reset, as OpenAI names it
    [InlineData("90", 90)] // retry-after is the provider's word on when to retry: not the longer reset of a limit not reached
    public async Task A_429_from_openai_opens_its_circuit_for_the_reset_it_named_and_agents_on_anthropic_go_on(string? retryAfter, int seconds)
    {
        var headers = new Dictionary<string, string>
        {
            ["x-ratelimit-limit-requests"] = "500", ["x-ratelimit-remaining-requests"] = "0", ["x-ratelimit-reset-requests"] = "6m0s",
            ["x-ratelimit-limit-tokens"] = "30000", ["x-ratelimit-remaining-tokens"] = "29000", ["x-ratelimit-reset-tokens"] = "59m59.9s",
        };
        if (retryAfter is not null)
        {
            headers["retry-after"] = retryAfter;
            headers["x-ratelimit-remaining-requests"] = "3";
        }
        _openAi.Enqueue(OpenAiReply.Error(429, "requests", "Rate limit reached for gpt-test on requests per min (RPM).", "rate_limit_exceeded", headers));
        using var door = OpenAiDoor(_hive, Agent);
        var before = DateTimeOffset.UtcNow;
        using (var limited = await door.PostAsync("/v1/chat/completions", ChatBody(stream: true)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode); // the provider's own answer, passed on
            Assert.Equal("rate_limit_exceeded", (await limited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        }

        JsonElement circuit = default;
        await HiveInstance.Until(() =>
        {
            var circuits = _hive.GetJsonAsync("/api/governance").GetAwaiter().GetResult().GetProperty("circuits").EnumerateArray().ToList();
            if (circuits.FirstOrDefault(c => c.GetProperty("provider").GetString() == "openai") is not { ValueKind: JsonValueKind.Object } open) return false;
            circuit = open.Clone();
            return true;
        }, what: "openai's circuit to open");
        Assert.InRange(circuit.GetProperty("until").GetDateTimeOffset(), before.AddSeconds(seconds - 5), DateTimeOffset.UtcNow.AddSeconds(seconds + 5));

        // The next call is refused at the door, in OpenAI's format, with its retry-after; the provider sees nothing more.
        using (var refused = await door.PostAsync("/v1/responses", ResponsesBody(stream: false)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            AssertOpenAiError(await refused.Content.ReadFromJsonAsync<JsonElement>());
            Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(seconds - 15), TimeSpan.FromSeconds(seconds + 5));
        }
        Assert.Single(_openAi.Requests);

        // An agent on anthropic goes on.
        using var alice = Door(_hive, "alice");
        using (var other = await alice.PostAsync("/v1/messages", MessagesBody(stream: false)))
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Single(_anthropic.MessagesRequests);
    }

    [Fact]
    public async Task An_agent_under_the_process_driver_gets_openai_base_url_with_v1_and_a_placeholder_key_and_its_call_is_metered()
    {
        const string name = "oenv";
        // One chat call as an OpenAI SDK sends it, by bash alone: POST $OPENAI_BASE_URL/chat/completions with the key as Bearer.
        const string call = """
            u=${OPENAI_BASE_URL#http://}; hp=${u%%/*}; prefix=${u#*/}
            body='{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}'
            exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}" || { echo "no port at $OPENAI_BASE_URL"; exit 99; }
            printf 'POST /%s/chat/completions HTTP/1.1\r\nhost: hive\r\nauthorization: Bearer %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s' \
                "$prefix" "$OPENAI_API_KEY" "${#body}" "$body" >&3
            IFS= read -r line <&3; echo "answer: ${line%$'\r'}"
            exec 3<&-
            exec sleep 1000
            """;
        _openAi.Enqueue(OpenAiReply.Text("Hi from the model.", new FakeOpenAiApi.Usage(30, 7)));
        using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new
        { name, driver = "process", provider = "openai", restart = "never", command = new[] { "/bin/bash", "-c", call } }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        try
        {
            var seen = await _openAi.WaitForRequestAsync(r => r.IsChat);
            Assert.Equal("/v1/chat/completions", seen.Path);
            Assert.True(seen.KeyMatched);
            var placeholder = _hive.Service<IAgentGateways>().For(name, "openai")!.PlaceholderKey;
            Assert.False(seen.Carries(placeholder));
            var call1 = await OnlyCallAsync(name);
            Assert.Equal((30L, 7L), (call1.GetProperty("input_tokens").GetInt64(), call1.GetProperty("output_tokens").GetInt64()));

            var row = (await ContainersKit.RowAsync(_hive, name))!.Value;
            Assert.Equal("gateway", row.GetProperty("model_calls").GetString());
            await HiveInstance.Until(() => ProcessTable.Family(ContainersKit.Pid(row)!.Value)
                .Any(p => ProcessTable.CommandLine(p).StartsWith("sleep 1000", StringComparison.Ordinal)), what: "the command to exec its sleep");
            var command = Assert.Single(ProcessTable.Family(ContainersKit.Pid(row)!.Value),
                p => ProcessTable.CommandLine(p).StartsWith("sleep 1000", StringComparison.Ordinal));
            var environment = ProcessTable.Environment(command)!;
            Assert.Matches(@"^http://127\.0\.0\.1:\d+/v1$", environment["OPENAI_BASE_URL"]);
            Assert.Equal(placeholder, environment["OPENAI_API_KEY"]);
            Assert.DoesNotContain(environment, kv => kv.Key.StartsWith("ANTHROPIC_", StringComparison.Ordinal));
            Assert.DoesNotContain(environment, kv => kv.Value.Contains(_openAiKey, StringComparison.Ordinal));
            await HiveInstance.Until(() => AgentLog(name).Contains("answer: HTTP/1.1 200 OK"), what: "the answer in the agent's log");
        }
        finally
        {
            await ContainersKit.DestroyAsync(_hive, name);
        }
    }

    private string AgentLog(string name)
    {
        var dir = Path.Combine(_hive.DataDir, "agents", name, "logs");
        if (!Directory.Exists(dir)) return "";
        return string.Concat(Directory.EnumerateFiles(dir).Order().Select(path =>
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(stream).ReadToEnd();
        }));
    }
}
