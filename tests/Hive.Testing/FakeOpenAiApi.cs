using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hive.Testing;

/// <summary>
/// A stand-in for OpenAI's API (the provider cannot be reached from these machines), over real HTTP, in its wire format
/// (as openai-python's types describe it). <c>POST /v1/chat/completions</c> and <c>POST /v1/responses</c> answer with the
/// next scripted <see cref="Reply"/> (<see cref="Enqueue(Reply[])"/>), or <see cref="DefaultReply"/> when none is left:
/// <list type="bullet">
/// <item>chat, streamed: <c>data: {chat.completion.chunk}</c> lines (the role, the text in pieces, the finish reason), then
/// a last chunk with empty <c>choices</c> and the <c>usage</c> <em>only</em> when the request set
/// <c>stream_options.include_usage</c> (every other chunk then carries <c>"usage": null</c>), then <c>data: [DONE]</c>;</item>
/// <item>chat, not streamed: one <c>chat.completion</c> with its <c>usage</c>;</item>
/// <item>responses, streamed: <c>event: response.created</c>, <c>response.in_progress</c>, the output item and its text
/// deltas, then <c>response.completed</c> whose <c>response.usage</c> has the tokens; each event's data carries its
/// <c>type</c> and <c>sequence_number</c>;</item>
/// <item>responses, not streamed: one <c>response</c> object with its <c>usage</c>.</item>
/// </list>
/// <c>prompt_tokens</c> / <c>input_tokens</c> include the cached ones (<c>*_tokens_details.cached_tokens</c>), as the API
/// counts them. The answer's <c>model</c> is the request's followed by <see cref="SnapshotSuffix"/>: the API answers with
/// the dated snapshot that served an alias. Every request is recorded (<see cref="Requests"/>,
/// <see cref="WaitForRequestAsync"/>) with the values of auth headers left out (only their hashes are kept, for
/// <see cref="RecordedRequest.Presented"/>); <c>Authorization: Bearer</c> must carry the key the fake was started with,
/// else 401 in the API's error format <c>{"error":{"message","type","param","code"}}</c>. A reply may carry headers
/// (<c>x-ratelimit-*</c>, <c>retry-after</c>), sent with its answer.
/// </summary>
public sealed class FakeOpenAiApi : IAsyncDisposable
{
    /// <summary>
    /// Usage the API reports: <paramref name="InputTokens"/> counts every prompt token, <paramref name="CachedTokens"/> of
    /// them read from the cache.
    /// </summary>
    public sealed record Usage(int InputTokens, int OutputTokens, int CachedTokens = 0);

    /// <summary>What one model call is answered with.</summary>
    public abstract record Reply(IReadOnlyDictionary<string, string> Headers)
    {
        public static readonly Usage DefaultUsage = new(12, 6);

        /// <summary>A text answer (<c>finish_reason: stop</c>, <c>status: completed</c>), with <paramref name="headers"/> on the response.</summary>
        public static TextReply Text(string text, Usage? usage = null, IReadOnlyDictionary<string, string>? headers = null) =>
            new(text, usage ?? DefaultUsage, headers ?? new Dictionary<string, string>());

        /// <summary>
        /// An error answer in the API's format: say 429 <c>requests</c> / <c>rate_limit_exceeded</c> with
        /// <c>x-ratelimit-reset-requests</c> and <c>retry-after</c> in <paramref name="headers"/>.
        /// </summary>
        public static ErrorReply Error(int status, string type, string message, string? code = null, IReadOnlyDictionary<string, string>? headers = null) =>
            new(status, type, message, code, headers ?? new Dictionary<string, string>());

        /// <summary>
        /// A stream that fails after it began (200): a chat stream's error chunk <c>{"error":{…}}</c> (no <c>[DONE]</c>), the
        /// Responses API's <c>error</c> event; a call not streamed gets a 500 <c>server_error</c>.
        /// </summary>
        public static StreamFailure FailMidStream(string message) => new(message, new Dictionary<string, string>());

        /// <summary>
        /// A call of the tool <paramref name="name"/> with <paramref name="arguments"/> (a JSON text), on the Responses API
        /// only: a <c>function_call</c> output item, with <paramref name="namespace"/> when the tool came in one (Codex
        /// offers an MCP server's tools as the namespace <c>mcp__SERVER</c> and wants them called by name and namespace).
        /// </summary>
        public static FunctionCallReply FunctionCall(string name, string arguments, string? @namespace = null, Usage? usage = null) =>
            new(name, @namespace, arguments, usage ?? DefaultUsage, new Dictionary<string, string>());
    }

    public sealed record FunctionCallReply(string Name, string? Namespace, string Arguments, Usage Usage, IReadOnlyDictionary<string, string> Headers) : Reply(Headers);

    public sealed record TextReply(string Content, Usage Usage, IReadOnlyDictionary<string, string> Headers) : Reply(Headers);

    public sealed record StreamFailure(string Message, IReadOnlyDictionary<string, string> Headers) : Reply(Headers);

    public sealed record ErrorReply(int Status, string Type, string Message, string? Code, IReadOnlyDictionary<string, string> Headers) : Reply(Headers);

    /// <summary>
    /// One request as it arrived: <paramref name="Headers"/> with the values of auth headers replaced by <c>(redacted)</c>,
    /// <paramref name="Body"/> the parsed JSON (null when there was none or it was not JSON), <paramref name="KeyMatched"/>
    /// whether <c>Authorization: Bearer</c> carried the fake's key, and <paramref name="Reply"/> the scripted reply it was
    /// given (null for anything but a model call).
    /// </summary>
    public sealed record RecordedRequest(int Index, string Method, string Path, IReadOnlyDictionary<string, string> Headers, JsonElement? Body,
        bool KeyMatched, Reply? Reply)
    {
        internal IReadOnlyList<byte[]> CredentialHashes { get; init; } = [];

        public bool IsChat => Method == "POST" && Path == "/v1/chat/completions";
        public bool IsResponses => Method == "POST" && Path == "/v1/responses";

        public string? Model => Field("model") is { ValueKind: JsonValueKind.String } model ? model.GetString() : null;
        public bool Stream => Field("stream") is { ValueKind: JsonValueKind.True };

        /// <summary>Whether the request asked for the usage at the end of a chat stream (<c>stream_options.include_usage</c>).</summary>
        public bool IncludeUsage => Field("stream_options") is { ValueKind: JsonValueKind.Object } options
            && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True;

        /// <summary>Whether any auth header (whole, or the token of a Bearer) was exactly <paramref name="secret"/>.</summary>
        public bool Presented(string secret)
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
            return CredentialHashes.Any(h => CryptographicOperations.FixedTimeEquals(h, hash));
        }

        /// <summary>Whether <paramref name="text"/> is anywhere in the request: a header value it was not redacted from, or the body.</summary>
        public bool Carries(string text) => Presented(text)
            || Headers.Values.Any(v => v.Contains(text, StringComparison.Ordinal))
            || (Body?.GetRawText().Contains(text, StringComparison.Ordinal) ?? false);

        /// <summary>
        /// The tools a Responses call offers, by name; a namespace's as <c>NAMESPACE__NAME</c> (<c>mcp__hive__send</c>).
        /// </summary>
        public IReadOnlyList<string> ToolNames => Field("tools") is { ValueKind: JsonValueKind.Array } tools
            ? tools.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.Object).SelectMany(t =>
                t.TryGetProperty("tools", out var inner) && inner.ValueKind == JsonValueKind.Array && NameOf(t) is { } space
                    ? inner.EnumerateArray().Select(NameOf).OfType<string>().Select(n => $"{space}__{n}")
                    : NameOf(t) is { } name ? [name] : []).ToList()
            : [];

        /// <summary>The outputs of tool calls a Responses call sends back (its <c>function_call_output</c> input items), in order.</summary>
        public IReadOnlyList<string> FunctionCallOutputs => Field("input") is { ValueKind: JsonValueKind.Array } input
            ? input.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object && i.TryGetProperty("type", out var type)
                    && type.ValueKind == JsonValueKind.String && type.GetString() == "function_call_output")
                .Select(i => i.TryGetProperty("output", out var output) ? output.ValueKind == JsonValueKind.String ? output.GetString()! : output.GetRawText() : "")
                .ToList()
            : [];

        /// <summary>The last item of a Responses call's <c>input</c> (the prompt, or the output of the tool call it answers), as JSON text; "" when none.</summary>
        public string LastInput => Field("input") is { ValueKind: JsonValueKind.Array } input && input.GetArrayLength() > 0 ? input[input.GetArrayLength() - 1].GetRawText() : "";

        private static string? NameOf(JsonElement item) =>
            item.ValueKind == JsonValueKind.Object && item.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null;

        public override string ToString() => $"#{Index} {Method} {Path}" + (Model is null ? "" : $" (model {Model}, stream {Stream}, include_usage {IncludeUsage})");

        private JsonElement? Field(string name) =>
            Body is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty(name, out var value) ? value : null;
    }

    private static readonly HashSet<string> SecretHeaders = new(["authorization", "api-key", "x-api-key", "proxy-authorization", "cookie"],
        StringComparer.OrdinalIgnoreCase);

    private readonly byte[] _keyHash;
    private readonly object _lock = new();
    private readonly RequestLog<RecordedRequest> _requests = new("the fake OpenAI API");
    private readonly Queue<Func<RecordedRequest, Reply>> _replies = new();
    private int _ids;
    private WebApplication? _app;

    private FakeOpenAiApi(string apiKey) => _keyHash = SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));

    /// <summary>The server's base URL (<c>http://127.0.0.1:PORT</c>, no <c>/v1</c>): a provider's <c>Upstream</c>.</summary>
    public string BaseUrl { get; private set; } = null!;

    /// <summary>The answer when no scripted reply is left: a short text.</summary>
    public Reply DefaultReply { get; set; } = Reply.Text("OK.");

    /// <summary>What the answer's <c>model</c> adds to the request's (the snapshot an alias resolved to).</summary>
    public string SnapshotSuffix { get; set; } = "-2025-04-14";

    public IReadOnlyList<RecordedRequest> Requests => _requests.All;

    /// <summary>The calls of the model so far (chat completions and responses), in order.</summary>
    public IReadOnlyList<RecordedRequest> ModelRequests => Requests.Where(r => r.IsChat || r.IsResponses).ToList();

    public void Enqueue(params Reply[] replies)
    {
        lock (_lock)
            foreach (var reply in replies) _replies.Enqueue(_ => reply);
    }

    /// <summary>A reply decided when its call arrives (under the fake's lock: it may read the fake, not wait on anything).</summary>
    public void Enqueue(Func<RecordedRequest, Reply> decide)
    {
        lock (_lock) _replies.Enqueue(decide);
    }

    /// <summary>The first request, past or future, that <paramref name="match"/> accepts; a <see cref="TimeoutException"/> listing what came instead.</summary>
    public Task<RecordedRequest> WaitForRequestAsync(Func<RecordedRequest, bool> match, TimeSpan? timeout = null) =>
        _requests.WaitForAsync(match, timeout);

    /// <param name="apiKey">The key callers must send as <c>Authorization: Bearer</c>; kept only as its SHA-256.</param>
    public static async Task<FakeOpenAiApi> StartAsync(string apiKey)
    {
        var api = new FakeOpenAiApi(apiKey);
        (api._app, api.BaseUrl) = await FakeHttpApi.StartAsync(api.AnswerAsync);
        return api;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _requests.CancelWaiters();
    }

    private async Task AnswerAsync(HttpContext context)
    {
        var http = context.Request;
        var (_, body, headers) = await FakeHttpApi.ReadAsync(context, SecretHeaders);
        var bearer = http.Headers.Authorization.ToString() is var auth && auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth["Bearer ".Length..] : null;
        var matched = bearer is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(bearer)), _keyHash);
        var path = http.Path.Value ?? "";
        var request = new RecordedRequest(0, http.Method, path, headers, body, matched, Reply: null)
        {
            CredentialHashes = http.Headers.Where(h => SecretHeaders.Contains(h.Key)).Select(h => h.Value.ToString())
                .Append(bearer).OfType<string>().Select(v => SHA256.HashData(Encoding.UTF8.GetBytes(v))).ToList(),
        };

        if (!matched)
        {
            Record(request);
            // As the API says it (its 401 is an invalid_request_error with a code).
            await ErrorAsync(context, Reply.Error(401, "invalid_request_error",
                bearer is null ? "You didn't provide an API key." : "Incorrect API key provided.", bearer is null ? null : "invalid_api_key"));
            return;
        }
        var isModelCall = http.Method == "POST" && path is "/v1/chat/completions" or "/v1/responses";
        if (!isModelCall)
        {
            Record(request);
            await ErrorAsync(context, Reply.Error(404, "invalid_request_error", $"Invalid URL ({http.Method} {path})"));
            return;
        }
        if (body is not { ValueKind: JsonValueKind.Object })
        {
            Record(request);
            await ErrorAsync(context, Reply.Error(400, "invalid_request_error", "We could not parse the JSON body of your request."));
            return;
        }
        request = Record(request, answered: true);
        var model = (request.Model ?? "") + SnapshotSuffix;
        switch (request.Reply)
        {
            case ErrorReply error:
                await ErrorAsync(context, error);
                break;
            case StreamFailure failure when request.Stream:
                await FailStreamAsync(context, failure, model, request.IsChat);
                break;
            case StreamFailure failure:
                await ErrorAsync(context, Reply.Error(500, "server_error", failure.Message));
                break;
            case TextReply text when request.IsChat && request.Stream:
                await ChatStreamAsync(context, text, model, request.IncludeUsage);
                break;
            case TextReply text when request.IsChat:
                await JsonAsync(context, 200, text.Headers, ChatCompletionJson(NextId("chatcmpl-fake"), model, text));
                break;
            case TextReply text when request.Stream:
                await ResponseStreamAsync(context, text, model);
                break;
            case TextReply text:
                await JsonAsync(context, 200, text.Headers, ResponseJson(NextId("resp_fake"), NextId("msg_fake"), model, text, completed: true));
                break;
            case FunctionCallReply call when request.IsResponses && request.Stream:
                await FunctionCallStreamAsync(context, call, model);
                break;
            case FunctionCallReply:
                await ErrorAsync(context, Reply.Error(500, "server_error", "the fake answers with a function call only on a streamed Responses call"));
                break;
        }
    }

    /// <summary>Adds the request to the record and wakes its waiters; when <paramref name="answered"/>, first gives it the next scripted reply.</summary>
    private RecordedRequest Record(RecordedRequest request, bool answered = false)
    {
        lock (_lock)
        {
            request = request with { Index = _requests.Count };
            if (answered)
            {
                Reply reply;
                try
                {
                    reply = _replies.TryDequeue(out var decide) ? decide(request) : DefaultReply;
                }
                catch (Exception e)
                {
                    reply = Reply.Error(500, "server_error", $"the test's reply function threw {e.GetType().Name}: {e.Message}");
                }
                request = request with { Reply = reply };
            }
            _requests.Add(request);
            return request;
        }
    }

    private string NextId(string prefix) => $"{prefix}{Interlocked.Increment(ref _ids):D6}";

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static JsonObject ChatUsageJson(Usage usage) => new()
    {
        ["prompt_tokens"] = usage.InputTokens,
        ["completion_tokens"] = usage.OutputTokens,
        ["total_tokens"] = usage.InputTokens + usage.OutputTokens,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = usage.CachedTokens, ["audio_tokens"] = 0 },
        ["completion_tokens_details"] = new JsonObject
        {
            ["reasoning_tokens"] = 0, ["audio_tokens"] = 0, ["accepted_prediction_tokens"] = 0, ["rejected_prediction_tokens"] = 0,
        },
    };

    private static JsonObject ResponseUsageJson(Usage usage) => new()
    {
        ["input_tokens"] = usage.InputTokens,
        ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = usage.CachedTokens },
        ["output_tokens"] = usage.OutputTokens,
        ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
        ["total_tokens"] = usage.InputTokens + usage.OutputTokens,
    };

    private static JsonObject ChatCompletionJson(string id, string model, TextReply reply) => new()
    {
        ["id"] = id, ["object"] = "chat.completion", ["created"] = Now, ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = reply.Content, ["refusal"] = null, ["annotations"] = new JsonArray() },
            ["logprobs"] = null,
            ["finish_reason"] = "stop",
        }),
        ["usage"] = ChatUsageJson(reply.Usage),
        ["service_tier"] = "default",
        ["system_fingerprint"] = "fp_fake",
    };

    private static JsonObject MessageItemJson(string id, string text, bool completed) => new()
    {
        ["id"] = id, ["type"] = "message", ["status"] = completed ? "completed" : "in_progress", ["role"] = "assistant",
        ["content"] = completed
            ? new JsonArray(new JsonObject { ["type"] = "output_text", ["text"] = text, ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray() })
            : new JsonArray(),
    };

    private static JsonObject ResponseJson(string id, string itemId, string model, TextReply reply, bool completed) => new()
    {
        ["id"] = id, ["object"] = "response", ["created_at"] = Now,
        ["status"] = completed ? "completed" : "in_progress",
        ["error"] = null, ["incomplete_details"] = null, ["instructions"] = null, ["max_output_tokens"] = null, ["model"] = model,
        ["output"] = completed ? new JsonArray(MessageItemJson(itemId, reply.Content, completed: true)) : new JsonArray(),
        ["parallel_tool_calls"] = true, ["previous_response_id"] = null,
        ["reasoning"] = new JsonObject { ["effort"] = null, ["summary"] = null },
        ["store"] = true, ["temperature"] = 1.0,
        ["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "text" } },
        ["tool_choice"] = "auto", ["tools"] = new JsonArray(), ["top_p"] = 1.0, ["truncation"] = "disabled",
        ["usage"] = completed ? ResponseUsageJson(reply.Usage) : null,
        ["user"] = null, ["metadata"] = new JsonObject(),
    };

    private static void StartStream(HttpContext context, Reply reply)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["x-request-id"] = RequestId();
        foreach (var (name, value) in reply.Headers) response.Headers[name] = value;
    }

    /// <summary>A chat completion as the API streams it: chunks, the usage chunk only when asked for, then <c>[DONE]</c>.</summary>
    private async Task ChatStreamAsync(HttpContext context, TextReply reply, string model, bool includeUsage)
    {
        StartStream(context, reply);
        var ct = context.RequestAborted;
        var id = NextId("chatcmpl-fake");
        var created = Now;

        async Task Send(JsonArray choices, JsonObject? usage = null)
        {
            var chunk = new JsonObject
            {
                ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = model,
                ["service_tier"] = "default", ["system_fingerprint"] = "fp_fake", ["choices"] = choices,
            };
            if (includeUsage) chunk["usage"] = usage; // null on every chunk but the last, as the API sends it
            await context.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", ct);
            await context.Response.Body.FlushAsync(ct);
        }

        JsonArray Choice(JsonObject delta, string? finish) =>
            new(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish });

        await Send(Choice(new JsonObject { ["role"] = "assistant", ["content"] = "", ["refusal"] = null }, null));
        foreach (var piece in Pieces(reply.Content, 12)) await Send(Choice(new JsonObject { ["content"] = piece }, null));
        await Send(Choice(new JsonObject(), "stop"));
        if (includeUsage) await Send(new JsonArray(), ChatUsageJson(reply.Usage));
        await context.Response.WriteAsync("data: [DONE]\n\n", ct);
    }

    /// <summary>A response as the Responses API streams it: named events, each with its <c>type</c> and <c>sequence_number</c>.</summary>
    private async Task ResponseStreamAsync(HttpContext context, TextReply reply, string model)
    {
        StartStream(context, reply);
        var ct = context.RequestAborted;
        var id = NextId("resp_fake");
        var itemId = NextId("msg_fake");
        var sequence = 0;

        async Task Send(string type, JsonObject data)
        {
            data.Insert(0, "type", type);
            data["sequence_number"] = sequence++;
            await context.Response.WriteAsync($"event: {type}\ndata: {data.ToJsonString()}\n\n", ct);
            await context.Response.Body.FlushAsync(ct);
        }

        JsonObject Where() => new() { ["item_id"] = itemId, ["output_index"] = 0, ["content_index"] = 0 };

        await Send("response.created", new JsonObject { ["response"] = ResponseJson(id, itemId, model, reply, completed: false) });
        await Send("response.in_progress", new JsonObject { ["response"] = ResponseJson(id, itemId, model, reply, completed: false) });
        await Send("response.output_item.added", new JsonObject { ["output_index"] = 0, ["item"] = MessageItemJson(itemId, "", completed: false) });
        var part = Where();
        part["part"] = new JsonObject { ["type"] = "output_text", ["text"] = "", ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray() };
        await Send("response.content_part.added", part);
        foreach (var piece in Pieces(reply.Content, 12))
        {
            var delta = Where();
            delta["delta"] = piece;
            delta["logprobs"] = new JsonArray();
            await Send("response.output_text.delta", delta);
        }
        var done = Where();
        done["text"] = reply.Content;
        done["logprobs"] = new JsonArray();
        await Send("response.output_text.done", done);
        var partDone = Where();
        partDone["part"] = new JsonObject { ["type"] = "output_text", ["text"] = reply.Content, ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray() };
        await Send("response.content_part.done", partDone);
        await Send("response.output_item.done", new JsonObject { ["output_index"] = 0, ["item"] = MessageItemJson(itemId, reply.Content, completed: true) });
        await Send("response.completed", new JsonObject { ["response"] = ResponseJson(id, itemId, model, reply, completed: true) });
    }

    /// <summary>
    /// A function call as the Responses API streams it: the <c>function_call</c> item added, its arguments in one delta, the
    /// item done, then <c>response.completed</c> with the item as the output and the usage.
    /// </summary>
    private async Task FunctionCallStreamAsync(HttpContext context, FunctionCallReply call, string model)
    {
        StartStream(context, call);
        var ct = context.RequestAborted;
        var id = NextId("resp_fake");
        var itemId = NextId("fc_fake");
        var callId = NextId("call_fake");
        var sequence = 0;

        JsonObject Item(bool completed)
        {
            var item = new JsonObject
            {
                ["id"] = itemId, ["type"] = "function_call", ["status"] = completed ? "completed" : "in_progress",
                ["call_id"] = callId, ["name"] = call.Name, ["arguments"] = completed ? call.Arguments : "",
            };
            if (call.Namespace is { } space) item["namespace"] = space;
            return item;
        }

        JsonObject Response(bool completed)
        {
            var response = ResponseJson(id, itemId, model, Reply.Text("", call.Usage), completed);
            response["output"] = completed ? new JsonArray(Item(completed: true)) : new JsonArray();
            return response;
        }

        async Task Send(string type, JsonObject data)
        {
            data.Insert(0, "type", type);
            data["sequence_number"] = sequence++;
            await context.Response.WriteAsync($"event: {type}\ndata: {data.ToJsonString()}\n\n", ct);
            await context.Response.Body.FlushAsync(ct);
        }

        await Send("response.created", new JsonObject { ["response"] = Response(completed: false) });
        await Send("response.in_progress", new JsonObject { ["response"] = Response(completed: false) });
        await Send("response.output_item.added", new JsonObject { ["output_index"] = 0, ["item"] = Item(completed: false) });
        await Send("response.function_call_arguments.delta", new JsonObject { ["item_id"] = itemId, ["output_index"] = 0, ["delta"] = call.Arguments });
        await Send("response.function_call_arguments.done", new JsonObject { ["item_id"] = itemId, ["output_index"] = 0, ["arguments"] = call.Arguments });
        await Send("response.output_item.done", new JsonObject { ["output_index"] = 0, ["item"] = Item(completed: true) });
        await Send("response.completed", new JsonObject { ["response"] = Response(completed: true) });
    }

    /// <summary>A stream that begins and then fails, as the API says it inside a 200 stream.</summary>
    private async Task FailStreamAsync(HttpContext context, StreamFailure failure, string model, bool chat)
    {
        StartStream(context, failure);
        var error = new JsonObject { ["message"] = failure.Message, ["type"] = "server_error", ["param"] = null, ["code"] = null };
        string events;
        if (chat)
        {
            var chunk = new JsonObject
            {
                ["id"] = NextId("chatcmpl-fake"), ["object"] = "chat.completion.chunk", ["created"] = Now, ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["delta"] = new JsonObject { ["role"] = "assistant", ["content"] = "Par" }, ["logprobs"] = null, ["finish_reason"] = null,
                }),
            };
            events = $"data: {chunk.ToJsonString()}\n\ndata: {new JsonObject { ["error"] = error }.ToJsonString()}\n\n";
        }
        else
        {
            var created = new JsonObject
            {
                ["type"] = "response.created", ["sequence_number"] = 0,
                ["response"] = ResponseJson(NextId("resp_fake"), NextId("msg_fake"), model, Reply.Text(""), completed: false),
            };
            var failed = new JsonObject { ["type"] = "error", ["code"] = "server_error", ["message"] = failure.Message, ["param"] = null, ["sequence_number"] = 1 };
            events = $"event: response.created\ndata: {created.ToJsonString()}\n\nevent: error\ndata: {failed.ToJsonString()}\n\n";
        }
        await context.Response.WriteAsync(events, context.RequestAborted);
    }

    /// <summary><paramref name="text"/> cut into pieces of about <paramref name="size"/> chars, never inside a surrogate pair.</summary>
    private static IEnumerable<string> Pieces(string text, int size)
    {
        var piece = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            piece.Append(rune.ToString());
            if (piece.Length < size) continue;
            yield return piece.ToString();
            piece.Clear();
        }
        if (piece.Length > 0) yield return piece.ToString();
    }

    private static string RequestId() => "req_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static async Task JsonAsync(HttpContext context, int status, IReadOnlyDictionary<string, string> headers, JsonObject json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers["x-request-id"] = RequestId();
        foreach (var (name, value) in headers) context.Response.Headers[name] = value;
        await context.Response.WriteAsync(json.ToJsonString(), context.RequestAborted);
    }

    private static Task ErrorAsync(HttpContext context, ErrorReply error) => JsonAsync(context, error.Status, error.Headers, new JsonObject
    {
        ["error"] = new JsonObject { ["message"] = error.Message, ["type"] = error.Type, ["param"] = null, ["code"] = error.Code },
    });
}
