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
/// A stand-in for Anthropic's Messages API (the provider cannot be reached from these machines), over real HTTP, for
/// the real Claude Code CLI (<see cref="ClaudeCode"/>) pointed at it with <c>ANTHROPIC_BASE_URL</c>.
/// <c>POST /v1/messages</c> answers with the next scripted <see cref="ModelReply"/> (<see cref="Enqueue(ModelReply[])"/>), or
/// <see cref="DefaultReply"/> when none is left: as Server-Sent Events in the API's order when the request asks for
/// <c>stream</c> (<c>message_start</c>, <c>ping</c>, per content block <c>content_block_start</c>, its
/// <c>text_delta</c>s or <c>input_json_delta</c>s, <c>content_block_stop</c>, then <c>message_delta</c> with the stop
/// reason and usage, <c>message_stop</c>), else as one JSON message. The reply's <c>model</c> is the request's.
/// <c>POST /v1/messages/count_tokens</c> answers an estimate, <c>HEAD /api/hello</c> (Claude Code's connectivity
/// probe, sent unless <c>CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC</c> is set) 200, anything else 404 with the API's
/// error JSON. Every request is recorded (<see cref="Requests"/>, <see cref="WaitForRequestAsync"/>), auth header
/// values left out; the API key is checked against the one the fake was started with, which it keeps only as a hash:
/// a <c>/v1/</c> call with another key is answered 401 as the API does.
/// </summary>
public sealed class FakeMessagesApi : IAsyncDisposable
{
    /// <summary>Usage the API reports for a reply; Claude Code prices it from its own table per model (see NOTES.md).</summary>
    public sealed record Usage(int InputTokens, int OutputTokens, int CacheCreationInputTokens = 0, int CacheReadInputTokens = 0);

    public abstract record ContentBlock;

    public sealed record TextBlock(string Text) : ContentBlock;

    /// <summary>A tool call; <paramref name="InputJson"/> is a JSON object, streamed in pieces as the API does.</summary>
    public sealed record ToolUseBlock(string Id, string Name, string InputJson) : ContentBlock;

    /// <summary>What one <c>POST /v1/messages</c> is answered with.</summary>
    public abstract record ModelReply
    {
        public static readonly Usage DefaultUsage = new(12, 6);

        /// <summary>A text answer, <c>stop_reason: end_turn</c>.</summary>
        public static MessageReply Text(string text, Usage? usage = null) => new([new TextBlock(text)], "end_turn", usage ?? DefaultUsage);

        /// <summary>
        /// A call of tool <paramref name="name"/> with <paramref name="inputJson"/> (a JSON object), optionally after some
        /// text, <c>stop_reason: tool_use</c>; its id is <see cref="MessageReply.ToolUseId"/>.
        /// </summary>
        public static MessageReply ToolUse(string name, string inputJson, string? textBefore = null, Usage? usage = null)
        {
            if (JsonNode.Parse(inputJson) is not JsonObject)
                throw new ArgumentException($"a tool's input is a JSON object, not {inputJson}", nameof(inputJson));
            var call = new ToolUseBlock("toolu_fake" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)), name, inputJson);
            return new(textBefore is null ? [call] : [new TextBlock(textBefore), call], "tool_use", usage ?? DefaultUsage);
        }

        /// <summary>An error answer with the API's error JSON: 529 <c>overloaded_error</c>, 429 <c>rate_limit_error</c>, 400 <c>invalid_request_error</c>...</summary>
        public static ErrorReply Error(int status, string type, string message, IReadOnlyDictionary<string, string>? headers = null) => new(status, type, message, headers);
    }

    public sealed record MessageReply(IReadOnlyList<ContentBlock> Content, string StopReason, Usage Usage) : ModelReply
    {
        /// <summary>The id of its (first) tool call, which the next request's <c>tool_result</c> must name.</summary>
        public string ToolUseId => Content.OfType<ToolUseBlock>().First().Id;
    }

    /// <summary>An error answer, with <paramref name="Headers"/> of its own (a limit's <c>anthropic-ratelimit-*</c>, say) when given.</summary>
    public sealed record ErrorReply(int Status, string Type, string Message, IReadOnlyDictionary<string, string>? Headers = null) : ModelReply;

    /// <summary>
    /// One request as it arrived: <paramref name="Headers"/> with the values of the auth headers replaced by
    /// <c>(redacted)</c>, <paramref name="Body"/> the parsed JSON (null when there was none or it was not JSON),
    /// <paramref name="ApiKeyMatched"/> whether <c>x-api-key</c> (or a Bearer token) was the fake's key, and
    /// <paramref name="Reply"/> the scripted reply it was given (null for anything but <c>POST /v1/messages</c>).
    /// </summary>
    public sealed record RecordedRequest(int Index, string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers,
        JsonElement? Body, bool ApiKeyMatched, ModelReply? Reply)
    {
        /// <summary>A call of the model (<c>POST /v1/messages</c>; Claude Code adds <c>?beta=true</c>).</summary>
        public bool IsMessages => Method == "POST" && Path == "/v1/messages";

        public string? Model => Field("model") is { ValueKind: JsonValueKind.String } model ? model.GetString() : null;

        public bool Stream => Field("stream") is { ValueKind: JsonValueKind.True };

        /// <summary>The names in the body's <c>tools</c> (an MCP tool is <c>mcp__&lt;server&gt;__&lt;tool&gt;</c>).</summary>
        public IReadOnlyList<string> ToolNames => Array("tools").Select(t => t.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "").ToList();

        public IReadOnlyList<JsonElement> Messages => Array("messages").ToList();

        /// <summary>Every text the conversation carries: string contents and <c>text</c> blocks of every message, in order.</summary>
        public IReadOnlyList<string> Texts => Messages.SelectMany(m => m.TryGetProperty("content", out var content) ? TextsOf(content) : []).ToList();

        /// <summary>Every <c>tool_result</c> block of the conversation, in order.</summary>
        public IReadOnlyList<JsonElement> ToolResults => Blocks("tool_result");

        /// <summary>Every <c>tool_use</c> block of the conversation (the model's earlier calls, as sent back), in order.</summary>
        public IReadOnlyList<JsonElement> ToolUses => Blocks("tool_use");

        public bool Mentions(string text) => Texts.Any(t => t.Contains(text, StringComparison.Ordinal));

        public override string ToString()
        {
            if (!IsMessages) return $"#{Index} {Method} {Path}{Query}";
            var said = Messages.Where(m => m.TryGetProperty("role", out var role) && role.GetString() == "user")
                .SelectMany(m => m.TryGetProperty("content", out var content) ? TextsOf(content) : []).LastOrDefault();
            return $"#{Index} {Method} {Path}{Query} (model {Model}, {Messages.Count} messages, {ToolResults.Count} tool results"
                + (said is null ? ")" : $", the user last said \"{(said.Length <= 80 ? said : said[..80] + "…")}\")");
        }

        private JsonElement? Field(string name) =>
            Body is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty(name, out var value) ? value : null;

        private IEnumerable<JsonElement> Array(string name) =>
            Field(name) is { ValueKind: JsonValueKind.Array } array ? array.EnumerateArray() : [];

        private IReadOnlyList<JsonElement> Blocks(string type) => Messages
            .Where(m => m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.Array)
            .SelectMany(m => m.GetProperty("content").EnumerateArray())
            .Where(b => b.ValueKind == JsonValueKind.Object && b.TryGetProperty("type", out var t) && t.GetString() == type)
            .ToList();

        private static IEnumerable<string> TextsOf(JsonElement content) => content.ValueKind switch
        {
            JsonValueKind.String => [content.GetString()!],
            JsonValueKind.Array => content.EnumerateArray()
                .Where(b => b.ValueKind == JsonValueKind.Object && b.TryGetProperty("type", out var t) && t.GetString() == "text")
                .Select(b => b.GetProperty("text").GetString() ?? ""),
            _ => [],
        };
    }

    private static readonly HashSet<string> SecretHeaders = new(["x-api-key", "authorization", "proxy-authorization", "cookie"], StringComparer.OrdinalIgnoreCase);

    private readonly byte[] _keyHash;
    private readonly object _lock = new();
    private readonly RequestLog<RecordedRequest> _requests = new("the fake Messages API");
    private readonly Queue<Func<RecordedRequest, ModelReply>> _replies = new();
    private int _messageCount;
    private WebApplication? _app;

    private FakeMessagesApi(string apiKey) => _keyHash = SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));

    /// <summary>The base URL to give as <c>ANTHROPIC_BASE_URL</c> (<c>http://127.0.0.1:PORT</c>, no trailing slash).</summary>
    public string BaseUrl { get; private set; } = null!;

    /// <summary>The answer when no scripted reply is left: a short text, <c>end_turn</c>.</summary>
    public ModelReply DefaultReply { get; set; } = ModelReply.Text("OK.");

    /// <summary>Every request so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _requests.All;

    /// <summary>The calls of the model so far (<c>POST /v1/messages</c>), in order.</summary>
    public IReadOnlyList<RecordedRequest> MessagesRequests => Requests.Where(r => r.IsMessages).ToList();

    /// <summary>Scripted replies, given to the next calls of the model in order.</summary>
    public void Enqueue(params ModelReply[] replies)
    {
        lock (_lock)
            foreach (var reply in replies) _replies.Enqueue(_ => reply);
    }

    /// <summary>
    /// A reply decided when its call arrives, from that request (say, echoing what it carries). It runs under the fake's
    /// lock, in order with the other calls: it may read the fake, not wait on anything.
    /// </summary>
    public void Enqueue(Func<RecordedRequest, ModelReply> decide)
    {
        lock (_lock) _replies.Enqueue(decide);
    }

    /// <summary>Scripted replies not yet given.</summary>
    public int PendingReplies
    {
        get
        {
            lock (_lock) return _replies.Count;
        }
    }

    /// <summary>The first request, past or future, that <paramref name="match"/> accepts; a <see cref="TimeoutException"/> listing what came instead.</summary>
    public Task<RecordedRequest> WaitForRequestAsync(Func<RecordedRequest, bool> match, TimeSpan? timeout = null) =>
        _requests.WaitForAsync(match, timeout);

    /// <param name="apiKey">The key callers must send (<c>ANTHROPIC_API_KEY</c>); kept only as its SHA-256.</param>
    /// <param name="port">The loopback port to listen on (0: any free one); a fixed one brings back a provider a test took away.</param>
    public static async Task<FakeMessagesApi> StartAsync(string apiKey, int port = 0)
    {
        var api = new FakeMessagesApi(apiKey);
        (api._app, api.BaseUrl) = await FakeHttpApi.StartAsync(api.AnswerAsync, port);
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
        var (raw, body, headers) = await FakeHttpApi.ReadAsync(context, SecretHeaders);
        var path = http.Path.Value ?? "";
        var request = new RecordedRequest(0, http.Method, path, http.QueryString.Value ?? "", headers, body, KeyMatches(http), Reply: null);

        var isApi = path.StartsWith("/v1/", StringComparison.Ordinal);
        if (isApi && !request.ApiKeyMatched)
        {
            Record(request);
            await ErrorAsync(context, new ErrorReply(401, "authentication_error", "invalid x-api-key"));
            return;
        }
        switch (http.Method, path)
        {
            case ("POST", "/v1/messages") when body is { ValueKind: JsonValueKind.Object }:
                var reply = Record(request, answered: true).Reply;
                await (reply switch
                {
                    ErrorReply error => ErrorAsync(context, error),
                    MessageReply message when request.Stream => StreamAsync(context, message, request.Model ?? ""),
                    MessageReply message => JsonAsync(context, 200, MessageJson(NextMessageId(), request.Model ?? "", message)),
                    _ => throw new InvalidOperationException($"not a reply: {reply}"),
                });
                break;
            case ("POST", "/v1/messages"):
                Record(request);
                await ErrorAsync(context, new ErrorReply(400, "invalid_request_error", "the body is not a JSON object"));
                break;
            case ("POST", "/v1/messages/count_tokens"):
                Record(request);
                await JsonAsync(context, 200, new JsonObject { ["input_tokens"] = Math.Max(1, raw.Length / 4) });
                break;
            case ("HEAD" or "GET", "/api/hello"):
                Record(request);
                context.Response.StatusCode = 200;
                break;
            default:
                Record(request);
                await ErrorAsync(context, new ErrorReply(404, "not_found_error", $"the fake Messages API has no {http.Method} {path}"));
                break;
        }
    }

    private bool KeyMatches(HttpRequest http)
    {
        var key = http.Headers["x-api-key"].ToString();
        var auth = http.Headers.Authorization.ToString();
        if (key.Length == 0 && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) key = auth["Bearer ".Length..].Trim();
        return key.Length > 0 && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(key)), _keyHash);
    }

    /// <summary>
    /// Adds the request to the record and wakes its waiters; when <paramref name="answered"/>, first gives it the next
    /// scripted reply (a reply function that throws gives a 500 <c>api_error</c> saying so, seen by the caller too).
    /// </summary>
    private RecordedRequest Record(RecordedRequest request, bool answered = false)
    {
        lock (_lock)
        {
            request = request with { Index = _requests.Count };
            if (answered)
            {
                ModelReply reply;
                try
                {
                    reply = _replies.TryDequeue(out var decide) ? decide(request) : DefaultReply;
                }
                catch (Exception e)
                {
                    reply = new ErrorReply(500, "api_error", $"the test's reply function threw {e.GetType().Name}: {e.Message}");
                }
                request = request with { Reply = reply };
            }
            _requests.Add(request);
            return request;
        }
    }

    private string NextMessageId() => $"msg_fake{Interlocked.Increment(ref _messageCount):D6}";

    private static JsonObject UsageJson(Usage usage, int outputTokens) => new()
    {
        ["input_tokens"] = usage.InputTokens,
        ["cache_creation_input_tokens"] = usage.CacheCreationInputTokens,
        ["cache_read_input_tokens"] = usage.CacheReadInputTokens,
        ["output_tokens"] = outputTokens,
    };

    private static JsonObject BlockJson(ContentBlock block) => block switch
    {
        TextBlock text => new JsonObject { ["type"] = "text", ["text"] = text.Text },
        ToolUseBlock call => new JsonObject { ["type"] = "tool_use", ["id"] = call.Id, ["name"] = call.Name, ["input"] = JsonNode.Parse(call.InputJson) },
        _ => throw new InvalidOperationException($"not a content block: {block}"),
    };

    private static JsonObject MessageJson(string id, string model, MessageReply reply) => new()
    {
        ["id"] = id, ["type"] = "message", ["role"] = "assistant", ["model"] = model,
        ["content"] = new JsonArray(reply.Content.Select(b => (JsonNode)BlockJson(b)).ToArray()),
        ["stop_reason"] = reply.StopReason, ["stop_sequence"] = null,
        ["usage"] = UsageJson(reply.Usage, reply.Usage.OutputTokens),
    };

    /// <summary>The reply as the API streams it; text and tool input go out in small pieces, each event flushed.</summary>
    private async Task StreamAsync(HttpContext context, MessageReply reply, string model)
    {
        var response = context.Response;
        var ct = context.RequestAborted;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["request-id"] = RequestId();

        async Task Send(string type, JsonObject data)
        {
            data.Insert(0, "type", type);
            await response.WriteAsync($"event: {type}\ndata: {data.ToJsonString()}\n\n", ct);
            await response.Body.FlushAsync(ct);
        }

        var message = MessageJson(NextMessageId(), model, reply);
        message["content"] = new JsonArray();
        message["stop_reason"] = null;
        message["usage"] = UsageJson(reply.Usage, outputTokens: 1);
        await Send("message_start", new JsonObject { ["message"] = message });
        await Send("ping", []);
        for (var index = 0; index < reply.Content.Count; index++)
        {
            switch (reply.Content[index])
            {
                case TextBlock text:
                    await Send("content_block_start", new JsonObject { ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });
                    foreach (var piece in Pieces(text.Text, 12))
                        await Send("content_block_delta", new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = piece } });
                    break;
                case ToolUseBlock call:
                    await Send("content_block_start", new JsonObject
                    {
                        ["index"] = index,
                        ["content_block"] = new JsonObject { ["type"] = "tool_use", ["id"] = call.Id, ["name"] = call.Name, ["input"] = new JsonObject() },
                    });
                    foreach (var piece in Pieces(call.InputJson, 16).Prepend(""))
                        await Send("content_block_delta", new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = piece } });
                    break;
            }
            await Send("content_block_stop", new JsonObject { ["index"] = index });
        }
        await Send("message_delta", new JsonObject
        {
            ["delta"] = new JsonObject { ["stop_reason"] = reply.StopReason, ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = reply.Usage.OutputTokens },
        });
        await Send("message_stop", []);
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

    private static string RequestId() => "req_fake" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private static async Task JsonAsync(HttpContext context, int status, JsonObject json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers["request-id"] = RequestId();
        await context.Response.WriteAsync(json.ToJsonString(), context.RequestAborted);
    }

    private static Task ErrorAsync(HttpContext context, ErrorReply error)
    {
        foreach (var (name, value) in error.Headers ?? new Dictionary<string, string>()) context.Response.Headers[name] = value;
        return JsonAsync(context, error.Status, new JsonObject
        {
            ["type"] = "error",
            ["error"] = new JsonObject { ["type"] = error.Type, ["message"] = error.Message },
        });
    }
}
