using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hive.Testing;

/// <summary>
/// A stand-in for Google's Gemini API (generativelanguage.googleapis.com cannot be reached from these machines), over
/// real HTTP, in its wire format as Gemini CLI 0.61.0 was seen to use it (docs/notes/gemini-opencode-acp.md).
/// <c>POST /v1beta/models/{model}:generateContent</c> and <c>:streamGenerateContent</c> answer with the next scripted
/// <see cref="Reply"/> (<see cref="Enqueue(Reply[])"/>), or <see cref="DefaultReply"/> when none is left:
/// <list type="bullet">
/// <item>streamed with <c>alt=sse</c>: <c>data: {GenerateContentResponse}</c> events, the text in pieces, each chunk with
/// the <c>usageMetadata</c> so far (the prompt's, and the candidates' tokens growing to the whole), the last one with
/// <c>finishReason: STOP</c>; streamed without it: the same chunks as one JSON array;</item>
/// <item>not streamed: one <c>GenerateContentResponse</c>;</item>
/// <item>a function call: one chunk whose part is <c>{"functionCall":{"name","args"}}</c>, <c>finishReason: STOP</c>.</item>
/// </list>
/// <c>:countTokens</c> answers <c>{"totalTokens"}</c> without using a reply. Every chunk carries <c>modelVersion</c>
/// (<see cref="ModelVersion"/>, or the path's model when null). The key must come as <c>x-goog-api-key</c> or <c>?key=</c>
/// and be the one the fake was started with, else 400 <c>INVALID_ARGUMENT</c> ("API key not valid") as the API says it;
/// errors are Google's <c>{"error":{"code","message","status"}}</c>. Every request is recorded (<see cref="Requests"/>,
/// <see cref="WaitForRequestAsync"/>) with its key's value left out (only its hash is kept, for
/// <see cref="RecordedRequest.Presented"/>).
/// </summary>
public sealed partial class FakeGeminiApi : IAsyncDisposable
{
    /// <summary>
    /// Usage as the API reports it: <paramref name="Prompt"/> counts every prompt token, <paramref name="Cached"/> of them
    /// read from the cache; <paramref name="Thoughts"/> are apart from <paramref name="Candidates"/>.
    /// </summary>
    public sealed record Usage(int Prompt, int Candidates, int Cached = 0, int Thoughts = 0);

    /// <summary>What one model call is answered with.</summary>
    public abstract record Reply
    {
        public static readonly Usage DefaultUsage = new(12, 6);

        public static TextReply Text(string text, Usage? usage = null) => new(text, usage ?? DefaultUsage);

        /// <summary>A call of the function <paramref name="name"/> with <paramref name="args"/> (a JSON object's text).</summary>
        public static FunctionCallReply FunctionCall(string name, string args, Usage? usage = null) => new(name, args, usage ?? DefaultUsage);

        /// <summary>An error answer: say 429 <c>RESOURCE_EXHAUSTED</c>.</summary>
        public static ErrorReply Error(int status, string statusName, string message) => new(status, statusName, message);

        /// <summary>A stream that fails after it began (200): one text chunk, then <c>{"error":{…}}</c>; not streamed, a 500.</summary>
        public static StreamFailure FailMidStream(string message) => new(message);
    }

    public sealed record TextReply(string Content, Usage Usage) : Reply;

    public sealed record FunctionCallReply(string Name, string Args, Usage Usage) : Reply;

    public sealed record ErrorReply(int Status, string StatusName, string Message) : Reply;

    public sealed record StreamFailure(string Message) : Reply;

    /// <summary>
    /// One request as it arrived: <paramref name="Query"/> and <paramref name="Headers"/> with the key's value replaced by
    /// <c>(redacted)</c>, <paramref name="Body"/> the parsed JSON (null when none or not JSON), <paramref name="KeyMatched"/>
    /// whether the fake's key came, and <paramref name="Reply"/> the scripted reply it was given (null for anything else).
    /// </summary>
    public sealed record RecordedRequest(int Index, string Method, string Path, IReadOnlyDictionary<string, string> Query,
        IReadOnlyDictionary<string, string> Headers, JsonElement? Body, bool KeyMatched, Reply? Reply)
    {
        internal IReadOnlyList<byte[]> CredentialHashes { get; init; } = [];

        /// <summary>The model the path names; null when the path is not a model's method.</summary>
        public string? Model => ModelPath().Match(Path) is { Success: true } m ? m.Groups["model"].Value : null;

        /// <summary><c>generateContent</c>, <c>streamGenerateContent</c> or <c>countTokens</c>; null for another path.</summary>
        public string? ModelMethod => ModelPath().Match(Path) is { Success: true } m ? m.Groups["method"].Value : null;

        public bool IsGenerate => Method == "POST" && ModelMethod is "generateContent" or "streamGenerateContent";
        public bool Stream => ModelMethod == "streamGenerateContent";
        public bool Sse => Query.TryGetValue("alt", out var alt) && alt == "sse";

        /// <summary>Whether the key (header or query) was exactly <paramref name="secret"/>.</summary>
        public bool Presented(string secret)
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
            return CredentialHashes.Any(h => CryptographicOperations.FixedTimeEquals(h, hash));
        }

        /// <summary>Whether <paramref name="text"/> is anywhere in the request: as its key, in a header, the query or the body.</summary>
        public bool Carries(string text) => Presented(text)
            || Headers.Values.Any(v => v.Contains(text, StringComparison.Ordinal))
            || Query.Values.Any(v => v.Contains(text, StringComparison.Ordinal))
            || (Body?.GetRawText().Contains(text, StringComparison.Ordinal) ?? false);

        /// <summary>The <c>functionResponse</c> parts the request carries back, as their <c>response</c>'s JSON text, in order.</summary>
        public IReadOnlyList<string> FunctionResponses =>
            Body is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("contents", out var contents) && contents.ValueKind == JsonValueKind.Array
                ? contents.EnumerateArray().Where(c => c.TryGetProperty("parts", out var p) && p.ValueKind == JsonValueKind.Array)
                    .SelectMany(c => c.GetProperty("parts").EnumerateArray())
                    .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("functionResponse", out _))
                    .Select(p => p.GetProperty("functionResponse").TryGetProperty("response", out var r) ? r.GetRawText() : "").ToList()
                : [];

        /// <summary>The last item of <c>contents</c> (the prompt, or the function response it carries back), as JSON text; "" when none.</summary>
        public string LastContent => Body is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("contents", out var contents)
            && contents.ValueKind == JsonValueKind.Array && contents.GetArrayLength() > 0 ? contents[contents.GetArrayLength() - 1].GetRawText() : "";

        /// <summary>The functions the request offers the model (its tools' <c>functionDeclarations</c>), by name.</summary>
        public IReadOnlyList<string> ToolNames => Body is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("tools", out var tools)
            && tools.ValueKind == JsonValueKind.Array
            ? tools.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("functionDeclarations", out var d) && d.ValueKind == JsonValueKind.Array)
                .SelectMany(t => t.GetProperty("functionDeclarations").EnumerateArray())
                .Select(f => f.TryGetProperty("name", out var n) ? n.GetString() : null).OfType<string>().ToList()
            : [];

        public override string ToString() => $"#{Index} {Method} {Path}" + (Query.Count > 0 ? "?" + string.Join("&", Query.Select(q => $"{q.Key}={q.Value}")) : "");
    }

    [GeneratedRegex("^/v1beta/models/(?<model>[^/:]+):(?<method>generateContent|streamGenerateContent|countTokens)$")]
    private static partial Regex ModelPath();

    private readonly byte[] _keyHash;
    private readonly Lock _lock = new();
    private readonly RequestLog<RecordedRequest> _requests = new("the fake Gemini API");
    private readonly Queue<Reply> _replies = new();
    private int _ids;
    private WebApplication? _app;

    private FakeGeminiApi(string apiKey) => _keyHash = SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));

    /// <summary>The server's base URL (<c>http://127.0.0.1:PORT</c>, no <c>/v1beta</c>): a provider's <c>Upstream</c>.</summary>
    public string BaseUrl { get; private set; } = null!;

    public Reply DefaultReply { get; set; } = Reply.Text("OK.");

    /// <summary>When set, the reply to a model call with nothing enqueued, chosen from the request (a scripted model that reads what it was asked).</summary>
    public Func<RecordedRequest, Reply>? Decide { get; set; }

    /// <summary>The <c>modelVersion</c> every chunk names; null: the path's model.</summary>
    public string? ModelVersion { get; set; } = "gemini-test-001";

    public IReadOnlyList<RecordedRequest> Requests => _requests.All;

    /// <summary>The content generations so far (not streamed and streamed), in order.</summary>
    public IReadOnlyList<RecordedRequest> ModelRequests => Requests.Where(r => r.IsGenerate).ToList();

    public void Enqueue(params Reply[] replies)
    {
        lock (_lock)
            foreach (var reply in replies) _replies.Enqueue(reply);
    }

    public Task<RecordedRequest> WaitForRequestAsync(Func<RecordedRequest, bool> match, TimeSpan? timeout = null) => _requests.WaitForAsync(match, timeout);

    /// <param name="apiKey">The key callers must send (<c>x-goog-api-key</c> or <c>?key=</c>); kept only as its SHA-256.</param>
    public static async Task<FakeGeminiApi> StartAsync(string apiKey)
    {
        var api = new FakeGeminiApi(apiKey);
        (api._app, api.BaseUrl) = await FakeHttpApi.StartAsync(api.AnswerAsync);
        return api;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _requests.CancelWaiters();
    }

    private static readonly HashSet<string> SecretHeaders = new(["x-goog-api-key", "authorization", "x-api-key", "cookie"], StringComparer.OrdinalIgnoreCase);

    private async Task AnswerAsync(HttpContext context)
    {
        var http = context.Request;
        var (_, body, headers) = await FakeHttpApi.ReadAsync(context, SecretHeaders);
        var presented = http.Headers["x-goog-api-key"].ToString() is { Length: > 0 } header ? header : http.Query["key"].ToString() is { Length: > 0 } q ? q : null;
        var matched = presented is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _keyHash);
        var query = http.Query.ToDictionary(p => p.Key, p => p.Key == "key" ? "(redacted)" : p.Value.ToString(), StringComparer.Ordinal);
        var request = new RecordedRequest(0, http.Method, http.Path.Value ?? "", query, headers, body, matched, Reply: null)
        {
            CredentialHashes = http.Headers.Where(h => SecretHeaders.Contains(h.Key)).Select(h => h.Value.ToString())
                .Concat(http.Query.Where(p => p.Key == "key").Select(p => p.Value.ToString()))
                .Select(v => SHA256.HashData(Encoding.UTF8.GetBytes(v))).ToList(),
        };

        if (!matched)
        {
            Record(request);
            await ErrorAsync(context, presented is null
                ? Reply.Error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
                : Reply.Error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."));
            return;
        }
        if (http.Method != "POST" || request.ModelMethod is null)
        {
            Record(request);
            await ErrorAsync(context, Reply.Error(404, "NOT_FOUND", $"models/{request.Model ?? "?"} is not found for API version v1beta, or {http.Method} {request.Path} is not a method."));
            return;
        }
        if (body is not { ValueKind: JsonValueKind.Object })
        {
            Record(request);
            await ErrorAsync(context, Reply.Error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."));
            return;
        }
        if (request.ModelMethod == "countTokens")
        {
            Record(request);
            await JsonAsync(context, 200, new JsonObject { ["totalTokens"] = Math.Max(1, body.Value.GetRawText().Length / 4) });
            return;
        }
        request = Record(request, answered: true);
        var version = ModelVersion ?? request.Model!;
        switch (request.Reply)
        {
            case ErrorReply error:
                await ErrorAsync(context, error);
                break;
            case StreamFailure failure when request.Stream && request.Sse:
                await SseAsync(context, [Chunk(version, [new JsonObject { ["text"] = "Par" }], null, null),
                    new JsonObject { ["error"] = ErrorJson(500, "INTERNAL", failure.Message) }]);
                break;
            case StreamFailure failure:
                await ErrorAsync(context, Reply.Error(500, "INTERNAL", failure.Message));
                break;
            case TextReply text:
                await AnswerWithAsync(context, request, TextChunks(text, version));
                break;
            case FunctionCallReply call:
                var part = new JsonObject { ["functionCall"] = new JsonObject { ["name"] = call.Name, ["args"] = JsonNode.Parse(call.Args) } };
                await AnswerWithAsync(context, request, [Chunk(version, [part], UsageJson(call.Usage, call.Usage.Candidates), "STOP")]);
                break;
        }
    }

    /// <summary>The chunks as the method sends them: SSE, one JSON array, or (not streamed) merged into one response.</summary>
    private async Task AnswerWithAsync(HttpContext context, RecordedRequest request, List<JsonObject> chunks)
    {
        if (request.Stream && request.Sse) await SseAsync(context, chunks);
        else if (request.Stream) await JsonAsync(context, 200, new JsonArray([.. chunks]));
        else
        {
            var parts = new JsonArray();
            var text = string.Concat(chunks.SelectMany(c => c["candidates"]![0]!["content"]!["parts"]!.AsArray()).Select(p => p!["text"]?.GetValue<string>()));
            if (text.Length > 0) parts.Add(new JsonObject { ["text"] = text });
            foreach (var call in chunks.SelectMany(c => c["candidates"]![0]!["content"]!["parts"]!.AsArray()).Where(p => p!["functionCall"] is not null))
                parts.Add(call!.DeepClone());
            var last = chunks[^1];
            await JsonAsync(context, 200, Chunk(last["modelVersion"]!.GetValue<string>(), [.. parts.Select(p => p!.DeepClone().AsObject())],
                last["usageMetadata"]!.DeepClone().AsObject(), "STOP"));
        }
    }

    /// <summary>The text in pieces, each chunk with the usage so far; the last with the whole usage and <c>STOP</c>.</summary>
    private List<JsonObject> TextChunks(TextReply reply, string version)
    {
        var pieces = Pieces(reply.Content, 12).ToList();
        return pieces.Select((piece, i) => Chunk(version, [new JsonObject { ["text"] = piece }],
            UsageJson(reply.Usage, i == pieces.Count - 1 ? reply.Usage.Candidates : reply.Usage.Candidates * (i + 1) / (pieces.Count + 1)),
            i == pieces.Count - 1 ? "STOP" : null)).ToList();
    }

    private JsonObject Chunk(string version, IEnumerable<JsonObject> parts, JsonObject? usage, string? finish)
    {
        var candidate = new JsonObject { ["content"] = new JsonObject { ["parts"] = new JsonArray([.. parts]), ["role"] = "model" }, ["index"] = 0 };
        if (finish is not null) candidate["finishReason"] = finish;
        var chunk = new JsonObject { ["candidates"] = new JsonArray(candidate) };
        if (usage is not null) chunk["usageMetadata"] = usage;
        chunk["modelVersion"] = version;
        chunk["responseId"] = $"fake{Interlocked.Increment(ref _ids):D6}";
        return chunk;
    }

    private static JsonObject UsageJson(Usage usage, int candidates)
    {
        var json = new JsonObject { ["promptTokenCount"] = usage.Prompt, ["candidatesTokenCount"] = candidates };
        if (usage.Cached > 0) json["cachedContentTokenCount"] = usage.Cached;
        if (usage.Thoughts > 0) json["thoughtsTokenCount"] = usage.Thoughts;
        json["totalTokenCount"] = usage.Prompt + candidates + usage.Thoughts;
        json["promptTokensDetails"] = new JsonArray(new JsonObject { ["modality"] = "TEXT", ["tokenCount"] = usage.Prompt });
        return json;
    }

    /// <summary>Adds the request to the record; when <paramref name="answered"/>, first gives it the next scripted reply.</summary>
    private RecordedRequest Record(RecordedRequest request, bool answered = false)
    {
        lock (_lock)
        {
            request = request with { Index = _requests.Count };
            if (answered) request = request with { Reply = _replies.TryDequeue(out var reply) ? reply : Decide?.Invoke(request) ?? DefaultReply };
            _requests.Add(request);
            return request;
        }
    }

    private static async Task SseAsync(HttpContext context, IEnumerable<JsonObject> events)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream";
        foreach (var data in events)
        {
            await context.Response.WriteAsync($"data: {data.ToJsonString()}\r\n\r\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    private static async Task JsonAsync(HttpContext context, int status, JsonNode json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(json.ToJsonString(), context.RequestAborted);
    }

    private static JsonObject ErrorJson(int status, string statusName, string message) =>
        new() { ["code"] = status, ["message"] = message, ["status"] = statusName };

    private static Task ErrorAsync(HttpContext context, ErrorReply error) =>
        JsonAsync(context, error.Status, new JsonObject { ["error"] = ErrorJson(error.Status, error.StatusName, error.Message) });

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
        if (piece.Length > 0 || text.Length == 0) yield return piece.ToString();
    }
}
