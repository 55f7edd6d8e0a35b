using System.Net.Sockets;
using System.Security.Cryptography;
using Dapper;
using Hive.Shared.Gateway;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Features.Gateway;

/// <summary>What the gateway's tests share: a hive whose <c>anthropic</c> provider is a fake Messages API, and an agent's door.</summary>
internal static class GatewayKit
{
    public static string NewKey() => "sk-ant-api03-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();

    /// <summary>The arguments that point the shipped <c>anthropic</c> provider at <paramref name="upstream"/> with a price for <c>claude-test</c>.</summary>
    public static string[] Provider(string upstream, params string[] more) =>
    [
        "--Hive:Gateway:Providers:anthropic:Upstream", upstream,
        "--Hive:Gateway:Providers:anthropic:Prices:claude-test:InputPerMtok", "1000",
        "--Hive:Gateway:Providers:anthropic:Prices:claude-test:OutputPerMtok", "2000",
        .. more,
    ];

    /// <summary>
    /// The arguments that add a provider <c>openai</c> of protocol <c>openai</c> at <paramref name="upstream"/>, its key in the
    /// secret <c>openai</c>, with a price for <c>gpt-test</c> (the model as the request names it).
    /// </summary>
    public static string[] OpenAiProvider(string upstream) =>
    [
        "--Hive:Gateway:Providers:openai:Protocol", "openai",
        "--Hive:Gateway:Providers:openai:Upstream", upstream,
        "--Hive:Gateway:Providers:openai:KeySecret", "openai",
        "--Hive:Gateway:Providers:openai:Prices:gpt-test:InputPerMtok", "1000",
        "--Hive:Gateway:Providers:openai:Prices:gpt-test:OutputPerMtok", "4000",
        "--Hive:Gateway:Providers:openai:Prices:gpt-test:CacheReadPerMtok", "100",
    ];

    /// <summary>
    /// The arguments that add a provider <c>gemini</c> of protocol <c>gemini</c> at <paramref name="upstream"/>, its key in the
    /// secret <c>gemini</c>, with a price for <c>gemini-test</c> (the model as the path names it).
    /// </summary>
    public static string[] GeminiProvider(string upstream) =>
    [
        "--Hive:Gateway:Providers:gemini:Protocol", "gemini",
        "--Hive:Gateway:Providers:gemini:Upstream", upstream,
        "--Hive:Gateway:Providers:gemini:KeySecret", "gemini",
        "--Hive:Gateway:Providers:gemini:Prices:gemini-test:InputPerMtok", "1000",
        "--Hive:Gateway:Providers:gemini:Prices:gemini-test:OutputPerMtok", "4000",
        "--Hive:Gateway:Providers:gemini:Prices:gemini-test:CacheReadPerMtok", "100",
    ];

    /// <summary>
    /// The door of <paramref name="agent"/> on a <c>gemini</c> provider, with its key as Gemini CLI sends it
    /// (<c>x-goog-api-key</c>); with <paramref name="inQuery"/>, none: the caller puts it in the query itself.
    /// </summary>
    public static HttpClient GeminiDoor(HiveInstance hive, string agent, string? key = null, bool inQuery = false)
    {
        var access = hive.Service<IAgentGateways>().For(agent, "gemini") ?? throw new InvalidOperationException($"{agent} has no gateway");
        var client = DoorClient(access.Socket);
        if (!inQuery) client.DefaultRequestHeaders.Add("x-goog-api-key", key ?? access.PlaceholderKey);
        return client;
    }

    /// <summary>An HTTP client that reaches <paramref name="agent"/>'s door, its Unix socket, as the agent's forwarder does.</summary>
    public static HttpClient Door(HiveInstance hive, string agent, string? key = null)
    {
        var access = hive.Service<IAgentGateways>().For(agent, "anthropic") ?? throw new InvalidOperationException($"{agent} has no gateway");
        var client = DoorClient(access.Socket);
        client.DefaultRequestHeaders.Add("x-api-key", key ?? access.PlaceholderKey);
        client.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        return client;
    }

    /// <summary>The door of <paramref name="agent"/> on an <c>openai</c> provider, with its key as an OpenAI client sends it (Bearer).</summary>
    public static HttpClient OpenAiDoor(HiveInstance hive, string agent, string provider = "openai", string? key = null)
    {
        var access = hive.Service<IAgentGateways>().For(agent, provider) ?? throw new InvalidOperationException($"{agent} has no gateway");
        var client = DoorClient(access.Socket);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key ?? access.PlaceholderKey);
        return client;
    }

    public static HttpClient DoorClient(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://127.0.0.1:1/"), Timeout = TimeSpan.FromMinutes(2) };
    }

    public static StringContent MessagesBody(string model = "claude-test", bool stream = true, string text = "hello") =>
        new($$"""{"model":"{{model}}","max_tokens":100,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{text}}"}]}""",
            System.Text.Encoding.UTF8, "application/json");

    public sealed record CallRow(long Id, string Agent, long? TurnId, string Provider, string? Model, string State, long? Status,
        long InputTokens, long OutputTokens, double? CostUsd, string? Error, string? RequestBody, string? ResponseBody);

    public static async Task<IReadOnlyList<CallRow>> CallsAsync(HiveInstance hive)
    {
        await using var db = new SqliteConnection($"Data Source={hive.DatabasePath};Mode=ReadOnly");
        return (await db.QueryAsync<CallRow>("""
            SELECT id, agent, turn_id AS TurnId, provider, model, state, status, input_tokens AS InputTokens, output_tokens AS OutputTokens,
                   cost_usd AS CostUsd, error, request_body AS RequestBody, response_body AS ResponseBody
            FROM model_calls ORDER BY id
            """)).ToList();
    }

    /// <summary>
    /// The hive's model calls once there are <paramref name="count"/> and none is still open: a call's row is booked just
    /// after its client has the whole answer, so a read right after the answer can miss it.
    /// </summary>
    public static async Task<IReadOnlyList<CallRow>> SettledCallsAsync(HiveInstance hive, int count)
    {
        IReadOnlyList<CallRow> calls = [];
        await HiveInstance.Until(() =>
        {
            calls = CallsAsync(hive).GetAwaiter().GetResult();
            return calls.Count == count && calls.All(c => c.State != "open");
        }, TimeSpan.FromSeconds(30), $"{count} model calls booked");
        return calls;
    }

    /// <summary>
    /// Every process that runs as <paramref name="agent"/> (its harness, its command, their children), on the whole machine:
    /// so a name asked about must be one no other test class's hive uses at the same time (an orphan that left its hive's
    /// process tree is still found).
    /// </summary>
    public static List<int> ProcessesOf(string agent)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains($"HIVE_AGENT={agent}")) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile
            }
        }
        return found;
    }
}
