using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;
using static Hive.Bench.Infrastructure.Stats;

namespace Hive.Bench.Modes;

/// <summary>
/// The Claude Code turns bench: the real Claude Code from the <c>claude-code</c> preset under bubblewrap, against
/// <see cref="FakeMessagesApi"/>, while <c>--load</c> CPU-burning child processes (4) keep the machine busy. It is woken
/// <c>--turns</c> times (20) one after another: a message from the operator, then the wait until its turn is recorded.
/// Per turn: how many model requests it made and whether every one carried the hive's tools (<c>mcp__hive__*</c>), the
/// turn's result, and for a turn not recorded ok whether its message came back (handed out again) and how its retry went.
/// The invariant: no turn is recorded ok unless every model request of it carried the hive's tools.
/// </summary>
internal sealed class ClaudeTurnsBench : IBenchMode
{
    public string Name => "claude-turns";
    public string Summary => "the real Claude Code under bubblewrap and --load N CPU burners: --turns wakes, each turn's model requests carry the hive's tools or it is failed and its message comes back";

    /// <summary>Where <c>./test.sh</c> (as root) installs the pinned Claude Code, when <c>HIVE_TEST_CLAUDE</c> is not set.</summary>
    private const string TestCacheClaude = "/var/cache/hive-tests/claude-code-2.1.328/node_modules/@anthropic-ai/claude-code-linux-x64/claude";

    /// <summary>
    /// Longer than the preset's <c>MCP_TIMEOUT</c> (120 s) and a loaded start of Claude Code, so an ok turn is not handed
    /// out again while it runs; a failed turn's message comes back after it.
    /// </summary>
    private const int AckTimeoutSeconds = 180;

    /// <summary>Tries per message (the first and the retries after it came back) before the bench gives up on it.</summary>
    private const int TriesPerMessage = 3;

    private static readonly TimeSpan TurnDeadline = TimeSpan.FromMinutes(10);

    private sealed record TurnRow(int Wake, int Try, long MessageId, string Result, string? Note, int Requests, int WithHiveTools,
        bool? Returned, double Seconds);

    public async Task<int> RunAsync(BenchOptions options)
    {
        var claude = ClaudeCode.Path ?? (File.Exists(TestCacheClaude) ? TestCacheClaude : null);
        if (claude is null)
        {
            Console.Error.WriteLine($"claude-turns: {ClaudeCode.SkipReason} (or run ./test.sh once as root, which installs it at {TestCacheClaude})");
            return 2;
        }
        if (!File.Exists("/usr/bin/bwrap"))
        {
            Console.Error.WriteLine("claude-turns: needs bubblewrap (apt-get install bubblewrap)");
            return 2;
        }

        var root = TempRoot("claude-turns");
        PrintHeader("Hive: Claude Code turns under load carry the hive's tools (issue 42 item 0)", root);
        Console.WriteLine($"claude: {claude}   turns: {options.Turns}   CPU burners: {options.Load}   ack timeout: {AckTimeoutSeconds} s");

        var key = "sk-ant-api03-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        await using var model = await FakeMessagesApi.StartAsync(key);
        var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "hive"), ["bob"],
        [
            "--Hive:Presets:ClaudeCode:Path", claude, "--Hive:Messages:AckTimeoutSeconds", AckTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // The loop rule would pause alice after a few quick wakes from the operator: this bench wakes it on purpose.
            "--Hive:Governance:LoopTurns", "0", "--Logging:LogLevel:Microsoft.AspNetCore", "Error",
            "--Hive:Gateway:Providers:anthropic:Upstream", model.BaseUrl,
        ]);
        var burners = new List<Process>();
        var rows = new List<TurnRow>();
        var clock = Stopwatch.StartNew();
        try
        {
            using (var saved = await hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = key }))
                if (saved.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"secret: {(int)saved.StatusCode}");

            for (var i = 0; i < options.Load; i++) burners.Add(Burner());
            Console.WriteLine($"load average with the burners started: {LoadAverage()}");

            using (var created = await hive.Http.PostAsJsonAsync("/api/agents", new
            {
                name = "alice", preset = "claude-code", driver = "bubblewrap", purpose = "answer the operator",
            }))
                if (created.StatusCode != HttpStatusCode.Created)
                    throw new InvalidOperationException($"create alice: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");

            long lastTurn = 0;
            var cursor = 0; // the model requests before it belong to turns already counted
            Console.WriteLine();
            Console.WriteLine($"{"wake",4} {"try",3} {"message",7} {"result",-8} {"requests",8} {"w/ hive",7} {"back",5} {"s",6}  note");
            for (var wake = 1; wake <= options.Turns; wake++)
            {
                long id;
                using (var sent = await hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = $"wake {wake}: say hello" }))
                {
                    if (sent.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"send: {(int)sent.StatusCode}");
                    id = (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
                }
                for (var attempt = 1; attempt <= TriesPerMessage; attempt++)
                {
                    var started = clock.Elapsed;
                    var turn = await NextTurnAsync(hive, lastTurn);
                    lastTurn = turn.GetProperty("id").GetInt64();
                    var requests = model.MessagesRequests.Where(r => r.Index >= cursor).ToList();
                    cursor = model.Requests.Count;
                    var result = turn.GetProperty("result_kind").GetString() ?? "?";
                    var note = turn.TryGetProperty("note", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
                    var withTools = requests.Count(r => r.ToolNames.Any(t => t.StartsWith("mcp__hive__", StringComparison.Ordinal)));
                    bool? returned = null;
                    if (result != "ok")
                        returned = await ReturnedAsync(hive, id, attempt + 1);
                    var row = new TurnRow(wake, attempt, id, result, note, requests.Count, withTools, returned, (clock.Elapsed - started).TotalSeconds);
                    rows.Add(row);
                    Console.WriteLine($"{wake,4} {attempt,3} {id,7} {result,-8} {requests.Count,8} {withTools,7} {(returned is null ? "-" : returned.Value ? "yes" : "NO"),5} " +
                                      $"{F(row.Seconds, 1),6}  {note}");
                    if (result == "ok" || returned != true) break;
                }
            }

            var okWithTools = rows.Count(r => r.Result == "ok" && r.Requests > 0 && r.WithHiveTools == r.Requests);
            var okWithout = rows.Count(r => r.Result == "ok" && r.WithHiveTools < r.Requests);
            var okNoRequest = rows.Count(r => r.Result == "ok" && r.Requests == 0);
            var failedReturned = rows.Count(r => r.Result != "ok" && r.Returned == true);
            var failedLost = rows.Count(r => r.Result != "ok" && r.Returned != true);
            var unacked = hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'alice' AND delivered_at IS NULL");
            Console.WriteLine();
            Console.WriteLine($"turns: {rows.Count} over {options.Turns} wakes in {F(clock.Elapsed.TotalSeconds, 0)} s; model requests: {rows.Sum(r => r.Requests)}, " +
                              $"with the hive's tools: {rows.Sum(r => r.WithHiveTools)}");
            Console.WriteLine($"load average at end: {LoadAverage()}");
            Console.WriteLine($"summary: ok with tools {okWithTools} / failed and returned {failedReturned} / ok WITHOUT tools {okWithout} (must be 0)" +
                              (okNoRequest > 0 ? $" / ok without any model request {okNoRequest}" : "") +
                              (failedLost > 0 ? $" / failed and NOT returned {failedLost}" : "") +
                              $"; messages to alice never acknowledged: {unacked}");
            var held = okWithout == 0 && okNoRequest == 0 && failedLost == 0;
            Console.WriteLine($"invariant (no turn ok without the hive's tools; every failed turn's message back): {(held ? "held" : "BROKEN")}");
            return held ? 0 : 1;
        }
        finally
        {
            foreach (var burner in burners) await StopAsync(burner);
            try
            {
                using var destroyed = await hive.Http.DeleteAsync("/api/agents/alice");
            }
            catch (HttpRequestException)
            {
                // the hive is disposed next either way
            }
            await hive.DisposeAsync();
            RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>The first turn of alice recorded after <paramref name="after"/> (turn ids only grow).</summary>
    private static async Task<JsonElement> NextTurnAsync(HiveInstance hive, long after)
    {
        JsonElement found = default;
        await PollAsync(() =>
        {
            var reply = hive.GetJsonAsync("/api/agents/alice/turns?limit=20").GetAwaiter().GetResult();
            var turns = reply.ValueKind == JsonValueKind.Array ? reply : reply.GetProperty("turns");
            var newer = turns.EnumerateArray().Where(t => t.GetProperty("id").GetInt64() > after).OrderBy(t => t.GetProperty("id").GetInt64()).ToList();
            if (newer.Count == 0) return false;
            found = newer[0].Clone();
            return true;
        }, TurnDeadline, "alice's next turn to be recorded");
        return found;
    }

    /// <summary>Whether the message of a turn not recorded ok is handed out again (its <paramref name="deliveries"/>th time), unacknowledged.</summary>
    private static async Task<bool> ReturnedAsync(HiveInstance hive, long id, int deliveries)
    {
        try
        {
            await PollAsync(() => hive.QueryDb<long>("SELECT delivery_count FROM messages WHERE id = @id AND delivered_at IS NULL", new { id }) >= deliveries,
                TimeSpan.FromSeconds(AckTimeoutSeconds * 2), $"message {id} to be handed out again");
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Looks every 50 ms until <paramref name="condition"/> holds (not every 5 ms as the tests' <c>Until</c>: the looks go
    /// through the hive's HTTP API on a machine the bench loads on purpose).
    /// </summary>
    private static async Task PollAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>A child process that keeps one core busy (a shell's empty loop: no children of its own) until killed.</summary>
    private static Process Burner()
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("while :; do :; done");
        return Process.Start(info) ?? throw new InvalidOperationException("could not start a CPU burner");
    }

    private static async Task StopAsync(Process burner)
    {
        if (!burner.HasExited) burner.Kill();
        await burner.WaitForExitAsync();
        burner.Dispose();
    }
}
