using System.Net;
using System.Text;
using Hive.Shared.Gateway;
using Hive.Tests.Features.Containers;
using static Hive.Tests.Features.Gateway.GatewayKit;
using GeminiReply = Hive.Testing.FakeGeminiApi.Reply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// The gateway's <c>gemini</c> protocol end to end: an agent on a provider of protocol <c>gemini</c> (a fake Gemini API
/// over real HTTP) calls <c>/v1beta/models/{model}:streamGenerateContent?alt=sse</c>, <c>:generateContent</c> and
/// <c>:countTokens</c> through its door with its placeholder as <c>x-goog-api-key</c> (or <c>?key=</c>); the provider gets
/// the real key as <c>x-goog-api-key</c> and never the placeholder; each call is metered from the last
/// <c>usageMetadata</c> (cached prompt tokens apart, thoughts as output) at the price of the path's model, and reads back
/// with its text and function calls. The gateway's refusals are in Gemini's error format; an agent under the process
/// driver gets <c>GOOGLE_GEMINI_BASE_URL</c> (no path) and a placeholder <c>GEMINI_API_KEY</c>.
/// </summary>
public sealed class GatewayGeminiTests : IAsyncLifetime
{
    private const string Agent = "gm";
    private readonly string _geminiKey = "AIza" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(18));
    private FakeGeminiApi _gemini = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        _gemini = await FakeGeminiApi.StartAsync(_geminiKey);
        _hive = await HiveInstance.StartAsync(["alice"], GeminiProvider(_gemini.BaseUrl));
        using (var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/gemini", new { value = _geminiKey }))
            Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        // An agent the operator runs itself (socket only, no process), whose calls go to the gemini provider.
        using var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name = Agent, driver = "external", provider = "gemini" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private string Placeholder => _hive.Service<IAgentGateways>().For(Agent, "gemini")!.PlaceholderKey;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A request as Gemini CLI makes one: no model in the body (it is in the path).</summary>
    private static StringContent Contents(string text = "hello", string history = "") => Json($$"""
        {"contents":[{{history}}{"role":"user","parts":[{"text":"{{text}}"}]}],
         "systemInstruction":{"role":"user","parts":[{"text":"You are a careful agent."}]},
         "tools":[{"functionDeclarations":[{"name":"mcp_hive_send","description":"Send a message","parametersJsonSchema":{"type":"object"} }]}],
         "generationConfig":{"temperature":1,"topP":0.95,"thinkingConfig":{"includeThoughts":true} } }
        """);

    private async Task<JsonElement> CallsUntilAsync(int count, string agent = Agent)
    {
        JsonElement calls = default;
        await HiveInstance.Until(() =>
        {
            var all = _hive.GetJsonAsync($"/api/agents/{agent}/calls").GetAwaiter().GetResult();
            if (all.GetArrayLength() != count || all.EnumerateArray().Any(c => c.GetProperty("state").GetString() == "open")) return false;
            calls = all.Clone();
            return true;
        }, what: $"{agent}'s {count} calls to be recorded");
        return calls;
    }

    /// <summary>The agent's only call, and what the hive reads of it (<c>GET /api/calls/{id}</c>).</summary>
    private async Task<(JsonElement Call, JsonElement Detail)> OnlyCallAsync(string agent = Agent)
    {
        var call = (await CallsUntilAsync(1, agent))[0];
        return (call, await _hive.GetJsonAsync($"/api/calls/{call.GetProperty("id").GetInt64()}"));
    }

    private static void AssertGeminiError(JsonElement body, int status, string statusName)
    {
        var error = body.GetProperty("error");
        Assert.Equal(["code", "message", "status"], error.EnumerateObject().Select(p => p.Name));
        Assert.Equal(status, error.GetProperty("code").GetInt32());
        Assert.Equal(statusName, error.GetProperty("status").GetString());
        Assert.StartsWith("hive: ", error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("streamGenerateContent", "?alt=sse")] // as Gemini CLI calls it
    [InlineData("streamGenerateContent", "")] // the stream as one JSON array
    [InlineData("generateContent", "")]
    public async Task A_call_goes_up_with_the_real_key_and_is_metered_from_its_last_usage_metadata(string method, string query)
    {
        _gemini.Enqueue(GeminiReply.Text("Hello from the model, in pieces.", new FakeGeminiApi.Usage(1000, 500, Cached: 400, Thoughts: 100)));
        using var door = GeminiDoor(_hive, Agent);
        using var response = await door.PostAsync($"/v1beta/models/gemini-test:{method}{query}", Contents());
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sse = query == "?alt=sse";
        Assert.Equal(sse ? "text/event-stream" : "application/json", response.Content.Headers.ContentType?.MediaType);
        if (sse) Assert.StartsWith("data: {", text);
        else Assert.Contains(method == "generateContent" ? "Hello from the model, in pieces." : "Hello from t", text);
        var seen = Assert.Single(_gemini.ModelRequests);
        Assert.Equal($"/v1beta/models/gemini-test:{method}", seen.Path);
        Assert.Equal(sse, seen.Sse); // the query went up as it came
        Assert.True(seen.KeyMatched); // the real key, as x-goog-api-key
        Assert.False(seen.Carries(Placeholder)); // and never the agent's placeholder

        var (call, detail) = await OnlyCallAsync();
        Assert.Equal(("complete", 200, seen.Path, sse, "gemini-test-001"), (call.GetProperty("state").GetString(), call.GetProperty("status").GetInt32(),
            call.GetProperty("path").GetString(), call.GetProperty("streamed").GetBoolean(), call.GetProperty("model").GetString()));
        // The prompt less its cached tokens is input, the cached ones cache reads; thoughts are output as the candidates are.
        Assert.Equal((600L, 400L, 600L, 0L), (call.GetProperty("input_tokens").GetInt64(), call.GetProperty("cache_read_tokens").GetInt64(),
            call.GetProperty("output_tokens").GetInt64(), call.GetProperty("cache_write_tokens").GetInt64()));
        Assert.Equal((600 * 1000 + 400 * 100 + 600 * 4000) / 1e6, call.GetProperty("cost_usd").GetDouble(), 9); // the path's model's price
        Assert.DoesNotContain(_geminiKey, detail.GetRawText());
        Assert.DoesNotContain(Placeholder, detail.GetRawText());
        // The recorded call reads as a person reads it, however it streamed.
        var readable = detail.GetProperty("readable");
        Assert.Equal("You are a careful agent.", readable.GetProperty("system").GetString());
        var asked = Assert.Single(readable.GetProperty("last_messages").EnumerateArray());
        Assert.Equal(("user", "hello"), (asked.GetProperty("role").GetString(), asked.GetProperty("parts")[0].GetProperty("text").GetString()));
        var answer = Assert.Single(readable.GetProperty("answer").GetProperty("parts").EnumerateArray());
        Assert.Equal(("text", "Hello from the model, in pieces."), (answer.GetProperty("kind").GetString(), answer.GetProperty("text").GetString()));
        Assert.Equal("STOP", readable.GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task A_function_call_and_the_function_response_that_answers_it_read_back_as_a_tool_call_and_its_result()
    {
        _gemini.Enqueue(GeminiReply.FunctionCall("mcp_hive_send", """{"to":"bob","body":"hi bob"}"""), GeminiReply.Text("Sent."));
        using var door = GeminiDoor(_hive, Agent);
        using (var first = await door.PostAsync("/v1beta/models/gemini-test:streamGenerateContent?alt=sse", Contents("greet bob")))
            Assert.Contains("\"functionCall\"", await first.Content.ReadAsStringAsync());
        const string history = """
            {"role":"user","parts":[{"text":"greet bob"}]},
            {"role":"model","parts":[{"functionCall":{"id":"c1","name":"mcp_hive_send","args":{"to":"bob","body":"hi bob"}}}]},
            {"role":"user","parts":[{"functionResponse":{"id":"c1","name":"mcp_hive_send","response":{"output":"sent as message 42"}}}]},
            """;
        using (var second = await door.PostAsync("/v1beta/models/gemini-test:streamGenerateContent?alt=sse", Contents("go on", history)))
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        Assert.Equal("""{"output":"sent as message 42"}""", Assert.Single(_gemini.ModelRequests[1].FunctionResponses));
        var calls = (await CallsUntilAsync(2)).EnumerateArray().OrderBy(c => c.GetProperty("id").GetInt64()).ToList();
        var asked = (await _hive.GetJsonAsync($"/api/calls/{calls[0].GetProperty("id").GetInt64()}")).GetProperty("readable");
        var call = Assert.Single(asked.GetProperty("answer").GetProperty("parts").EnumerateArray());
        Assert.Equal(("tool_use", "mcp_hive_send"), (call.GetProperty("kind").GetString(), call.GetProperty("name").GetString()));
        Assert.Equal("bob", JsonDocument.Parse(call.GetProperty("text").GetString()!).RootElement.GetProperty("to").GetString());

        var answered = (await _hive.GetJsonAsync($"/api/calls/{calls[1].GetProperty("id").GetInt64()}")).GetProperty("readable");
        Assert.Equal(4, answered.GetProperty("message_count").GetInt32());
        var parts = answered.GetProperty("last_messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString(), m.GetProperty("parts")[0].GetProperty("kind").GetString(),
            m.GetProperty("parts")[0].GetProperty("text").GetString())).ToList();
        Assert.Equal(("model", "tool_use"), (parts[1].Item1, parts[1].Item2));
        Assert.Equal(("user", "tool_result", "sent as message 42"), parts[2]);
        Assert.Equal("Sent.", answered.GetProperty("answer").GetProperty("parts")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_placeholder_in_the_query_is_taken_and_never_goes_upstream()
    {
        using var door = GeminiDoor(_hive, Agent, inQuery: true);
        using var response = await door.PostAsync($"/v1beta/models/gemini-test:streamGenerateContent?alt=sse&key={Uri.EscapeDataString(Placeholder)}", Contents());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var seen = Assert.Single(_gemini.ModelRequests);
        Assert.True(seen.KeyMatched); // the real key, in the header
        Assert.Equal(["alt"], seen.Query.Keys); // the placeholder's key= stayed at the door
        Assert.False(seen.Carries(Placeholder));
        var (call, detail) = await OnlyCallAsync();
        Assert.Equal("complete", call.GetProperty("state").GetString());
        Assert.DoesNotContain(Placeholder, detail.GetRawText());
    }

    [Theory]
    [InlineData("another agent's key", "/v1beta/models/gemini-test:streamGenerateContent?alt=sse", 401, "UNAUTHENTICATED")]
    [InlineData("no key", "/v1beta/models/gemini-test:streamGenerateContent?alt=sse", 401, "UNAUTHENTICATED")]
    [InlineData("a method not served", "/v1beta/models/gemini-test:embedContent", 404, "NOT_FOUND")]
    [InlineData("another protocol's path", "/v1/chat/completions", 404, "NOT_FOUND")]
    [InlineData("a GET", "/v1beta/models/gemini-test:generateContent", 404, "NOT_FOUND")]
    [InlineData("a model that is no name", "/v1beta/models/gemini%20test:generateContent", 400, "INVALID_ARGUMENT")]
    [InlineData("a model of dots", "/v1beta/models/..:generateContent", 400, "INVALID_ARGUMENT")]
    [InlineData("not json", "/v1beta/models/gemini-test:generateContent", 400, "INVALID_ARGUMENT")]
    public async Task A_call_the_gateway_refuses_is_answered_in_geminis_format_and_nothing_goes_upstream(string what, string path, int status, string statusName)
    {
        var othersKey = _hive.Service<IAgentGateways>().For("alice", "anthropic")!.PlaceholderKey;
        using var door = GeminiDoor(_hive, Agent, key: what == "another agent's key" ? othersKey : null, inQuery: what == "no key");
        using var response = what == "a GET" ? await door.GetAsync(path)
            : await door.PostAsync(path, what == "not json" ? Json("not json") : Contents());

        Assert.Equal((HttpStatusCode)status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        AssertGeminiError(await response.Content.ReadFromJsonAsync<JsonElement>(), status, statusName);
        Assert.Empty(_gemini.Requests);
        Assert.Empty((await _hive.GetJsonAsync($"/api/agents/{Agent}/calls")).EnumerateArray());
    }

    [Fact]
    public async Task Over_its_budget_the_next_call_is_refused_as_permission_denied_and_nothing_goes_upstream()
    {
        using (var set = await _hive.Http.PutAsJsonAsync($"/api/governance/budgets/{Agent}", new { daily_usd = 0.01 })) set.EnsureSuccessStatusCode();
        _gemini.Enqueue(GeminiReply.Text("Costly.", new FakeGeminiApi.Usage(20, 5))); // $0.04
        using var door = GeminiDoor(_hive, Agent);
        using (var first = await door.PostAsync("/v1beta/models/gemini-test:streamGenerateContent?alt=sse", Contents()))
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await OnlyCallAsync();

        using var refused = await door.PostAsync("/v1beta/models/gemini-test:generateContent", Contents());
        var body = await refused.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        AssertGeminiError(body, 403, "PERMISSION_DENIED");
        Assert.Contains($"{Agent} is over its daily budget", body.GetProperty("error").GetProperty("message").GetString());
        Assert.Single(_gemini.ModelRequests);
    }

    [Fact]
    public async Task A_stream_the_provider_fails_half_way_is_a_failed_call_with_the_providers_message()
    {
        _gemini.Enqueue(GeminiReply.FailMidStream("An internal error has occurred."));
        using var door = GeminiDoor(_hive, Agent);
        using var response = await door.PostAsync("/v1beta/models/gemini-test:streamGenerateContent?alt=sse", Contents());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the stream had begun: the failure is in it, passed on
        Assert.Contains("An internal error has occurred.", await response.Content.ReadAsStringAsync());

        var (call, detail) = await OnlyCallAsync();
        Assert.Equal(("failed", "An internal error has occurred."), (call.GetProperty("state").GetString(), call.GetProperty("error").GetString()));
        Assert.Contains(detail.GetProperty("readable").GetProperty("answer").GetProperty("parts").EnumerateArray(),
            p => p.GetProperty("kind").GetString() == "error" && p.GetProperty("text").GetString()!.Contains("INTERNAL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_model_version_the_call_is_booked_under_the_paths_model_and_count_tokens_passes_unpriced()
    {
        _gemini.ModelVersion = null;
        using var door = GeminiDoor(_hive, Agent);
        using (var counted = await door.PostAsync("/v1beta/models/gemini-test:countTokens", Json("""{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}""")))
        {
            Assert.Equal(HttpStatusCode.OK, counted.StatusCode);
            Assert.True((await counted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("totalTokens").GetInt32() > 0);
        }
        _gemini.Enqueue(GeminiReply.Text("Hi.", new FakeGeminiApi.Usage(30, 7)));
        using (var generated = await door.PostAsync("/v1beta/models/gemini-test:generateContent", Contents()))
            Assert.Equal(HttpStatusCode.OK, generated.StatusCode);

        var calls = (await CallsUntilAsync(2)).EnumerateArray().ToDictionary(c => c.GetProperty("path").GetString()!);
        var count = calls["/v1beta/models/gemini-test:countTokens"];
        Assert.Equal(("complete", "gemini-test", 0L, JsonValueKind.Null), (count.GetProperty("state").GetString(), count.GetProperty("model").GetString(),
            count.GetProperty("input_tokens").GetInt64(), count.GetProperty("cost_usd").ValueKind));
        var generate = calls["/v1beta/models/gemini-test:generateContent"];
        Assert.Equal(("gemini-test", 30L, 7L), (generate.GetProperty("model").GetString(), generate.GetProperty("input_tokens").GetInt64(),
            generate.GetProperty("output_tokens").GetInt64()));
    }

    [Fact]
    public async Task An_agent_under_the_process_driver_gets_google_gemini_base_url_and_a_placeholder_gemini_api_key_and_its_call_is_metered()
    {
        const string name = "genv";
        // One streamed call as Gemini CLI makes it, by bash alone: POST $GOOGLE_GEMINI_BASE_URL/v1beta/models/M:streamGenerateContent?alt=sse.
        const string call = """
            u=${GOOGLE_GEMINI_BASE_URL#http://}; hp=${u%%/*}
            body='{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}'
            exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}" || { echo "no port at $GOOGLE_GEMINI_BASE_URL"; exit 99; }
            printf 'POST /v1beta/models/gemini-test:streamGenerateContent?alt=sse HTTP/1.1\r\nhost: hive\r\nx-goog-api-key: %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s' \
                "$GEMINI_API_KEY" "${#body}" "$body" >&3
            IFS= read -r line <&3; echo "answer: ${line%$'\r'}"
            exec 3<&-
            exec sleep 1000
            """;
        _gemini.Enqueue(GeminiReply.Text("Hi from the model.", new FakeGeminiApi.Usage(30, 7)));
        using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new
        { name, driver = "process", provider = "gemini", restart = "never", command = new[] { "/bin/bash", "-c", call } }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        try
        {
            var seen = await _gemini.WaitForRequestAsync(r => r.IsGenerate);
            Assert.Equal(("/v1beta/models/gemini-test:streamGenerateContent", true, true), (seen.Path, seen.Sse, seen.KeyMatched));
            var placeholder = _hive.Service<IAgentGateways>().For(name, "gemini")!.PlaceholderKey;
            Assert.False(seen.Carries(placeholder));
            var (row1, _) = await OnlyCallAsync(name);
            Assert.Equal((30L, 7L), (row1.GetProperty("input_tokens").GetInt64(), row1.GetProperty("output_tokens").GetInt64()));

            var row = (await ContainersKit.RowAsync(_hive, name))!.Value;
            Assert.Equal("gateway", row.GetProperty("model_calls").GetString());
            await HiveInstance.Until(() => ProcessTable.Family(ContainersKit.Pid(row)!.Value)
                .Any(p => ProcessTable.CommandLine(p).StartsWith("sleep 1000", StringComparison.Ordinal)), what: "the command to exec its sleep");
            var command = Assert.Single(ProcessTable.Family(ContainersKit.Pid(row)!.Value),
                p => ProcessTable.CommandLine(p).StartsWith("sleep 1000", StringComparison.Ordinal));
            var environment = ProcessTable.Environment(command)!;
            Assert.Matches(@"^http://127\.0\.0\.1:\d+$", environment["GOOGLE_GEMINI_BASE_URL"]); // Gemini's clients add /v1beta themselves
            Assert.Equal(placeholder, environment["GEMINI_API_KEY"]);
            Assert.DoesNotContain(environment, kv => kv.Key.StartsWith("ANTHROPIC_", StringComparison.Ordinal) || kv.Key.StartsWith("OPENAI_", StringComparison.Ordinal));
            Assert.DoesNotContain(environment, kv => kv.Value.Contains(_geminiKey, StringComparison.Ordinal));
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
