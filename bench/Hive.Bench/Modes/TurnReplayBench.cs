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
/// The turn-replay bench: alice, a process agent run by the real harness, makes <c>--count</c> (10) model calls per
/// turn through the gateway to <see cref="FakeMessagesApi"/>, whose every answer takes <c>--seconds</c>/10 of "model time",
/// then sends her last answer to bob. Each of <c>--rounds</c> (3) turns is then replayed (<c>POST /api/turns/{id}/replay</c>):
/// a sealed agent answered from the recording. Per round: the original turn's wall time, the model's time in it (the
/// gateway's own durations of its calls), the original without the model, the replay's wall time (its agent's turn), and
/// the host's CPU (this process: the host runs in it) from the replay's request to its end.
/// </summary>
internal sealed class TurnReplayBench : IBenchMode
{
    public string Name => "turn-replay";
    public string Summary => "replay of a recorded --count-call turn (10), --rounds times: wall time against the original's without its model time, and the host's CPU";

    private const string Client = """
        import json, os, subprocess, sys, urllib.request
        calls = int(os.environ["CALLS"])
        def call(messages):
            body = json.dumps({"model": "claude-bench", "max_tokens": 64, "messages": messages}).encode()
            request = urllib.request.Request(os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages", data=body, method="POST",
                headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01", "content-type": "application/json"})
            with urllib.request.urlopen(request) as response:
                answer = json.load(response)
            return "".join(b.get("text", "") for b in answer["content"] if b["type"] == "text")
        for line in sys.stdin:
            history = [{"role": "user", "content": json.loads(line)["body"]}]
            for i in range(calls):
                answer = call(history)
                history += [{"role": "assistant", "content": answer}, {"role": "user", "content": f"step {i + 1} done; next?"}]
            subprocess.run(["hivectl", "send", "bob", answer], check=True)
        """;

    private sealed record Round(double OriginalMs, double ModelMs, double ReplayMs, double HostCpuMs, string State, int Replayed);

    public async Task<int> RunAsync(BenchOptions options)
    {
        var calls = options.Count == new BenchOptions().Count ? 10 : options.Count;
        var modelTime = TimeSpan.FromSeconds((options.Seconds == new BenchOptions().Seconds ? 2.0 : options.Seconds) / 10);
        var root = TempRoot("turn-replay");
        PrintHeader("Hive: replaying a recorded turn", root);
        Console.WriteLine($"calls per turn: {calls}   model time per call: {F(modelTime.TotalMilliseconds, 0)} ms   rounds: {options.Rounds}");

        var key = "sk-ant-api03-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        await using var model = await FakeMessagesApi.StartAsync(key);
        var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "hive"), ["bob"],
        [
            "--Hive:Gateway:Providers:anthropic:Upstream", model.BaseUrl, "--Hive:Governance:LoopTurns", "0",
            "--Logging:LogLevel:Microsoft.AspNetCore", "Error",
        ]);
        var rounds = new List<Round>();
        try
        {
            using (var saved = await hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = key }))
                if (saved.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"secret: {(int)saved.StatusCode}");
            using (var created = await hive.Http.PostAsJsonAsync("/api/agents", new
            {
                name = "alice", driver = "process", provider = "anthropic", env = new Dictionary<string, string> { ["CALLS"] = $"{calls}" },
                command = new[] { "hivectl", "run", "--", "python3", "-c", Client },
            }))
                if (created.StatusCode != HttpStatusCode.Created)
                    throw new InvalidOperationException($"create alice: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
            await using var bob = await hive.ConnectAsync("bob");
            var answered = 0;

            Console.WriteLine();
            Console.WriteLine($"{"round",5} {"original ms",11} {"model ms",9} {"orig - model",12} {"replay ms",9} {"ratio",6} {"host CPU ms",11}  state");
            for (var round = 1; round <= options.Rounds; round++)
            {
                for (var i = 0; i < calls; i++)
                    model.Enqueue(_ =>
                    {
                        Thread.Sleep(modelTime);
                        return FakeMessagesApi.ModelReply.Text($"answer {Interlocked.Increment(ref answered)}");
                    });
                using (var sent = await hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = $"round {round}: take {calls} steps" }))
                    if (sent.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"send: {(int)sent.StatusCode}");
                if (await bob.RecvAndAckMessageAsync(30_000) is null && await bob.RecvAndAckMessageAsync(30_000) is null)
                    throw new TimeoutException($"round {round}: bob heard nothing from alice");
                var turn = await EndedTurnAsync(hive, "alice", round);
                var original = TurnMs(hive, turn);
                var modelMs = hive.QueryDb<double>("SELECT coalesce(sum(duration_ms), 0) FROM model_calls WHERE turn_id = @turn", new { turn });
                var heard = model.Requests.Count;

                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                using var started = await hive.Http.PostAsJsonAsync($"/api/turns/{turn}/replay", new { into = $"replay-{round}" });
                if (started.StatusCode != HttpStatusCode.Created)
                    throw new InvalidOperationException($"replay: {(int)started.StatusCode} {await started.Content.ReadAsStringAsync()}");
                var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
                JsonElement replay = default;
                await PollAsync(() => (replay = hive.GetJsonAsync($"/api/replays/{id}").GetAwaiter().GetResult()).GetProperty("state").GetString() != "running",
                    TimeSpan.FromMinutes(2), $"replay {id} to end");
                var hostCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
                if (model.Requests.Count != heard) throw new InvalidOperationException($"replay {id}: the provider heard {model.Requests.Count - heard} requests");
                var replayTurn = await EndedTurnAsync(hive, $"replay-{round}", 1);
                var row = new Round(original, modelMs, TurnMs(hive, replayTurn), hostCpu, replay.GetProperty("state").GetString()!,
                    replay.GetProperty("calls_replayed").GetInt32());
                rounds.Add(row);
                Console.WriteLine($"{round,5} {F(row.OriginalMs, 0),11} {F(row.ModelMs, 0),9} {F(row.OriginalMs - row.ModelMs, 0),12} {F(row.ReplayMs, 0),9} " +
                                  $"{F(row.ReplayMs / (row.OriginalMs - row.ModelMs)),6} {F(row.HostCpuMs, 0),11}  {row.State} ({row.Replayed}/{calls})");
                using (await hive.Http.DeleteAsync($"/api/agents/replay-{round}")) { }
            }
            Console.WriteLine();
            Console.WriteLine($"median: original {F(Median(rounds.Select(r => r.OriginalMs)), 0)} ms, of it model {F(Median(rounds.Select(r => r.ModelMs)), 0)} ms; " +
                              $"replay {F(Median(rounds.Select(r => r.ReplayMs)), 0)} ms = {F(Median(rounds.Select(r => r.ReplayMs / (r.OriginalMs - r.ModelMs))))} of the original " +
                              $"without its model; host CPU per replay {F(Median(rounds.Select(r => r.HostCpuMs)), 0)} ms; load {LoadAverage()}");
            return rounds.All(r => r.State == "identical") ? 0 : 1;
        }
        finally
        {
            await hive.DisposeAsync();
            RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>The agent's <paramref name="nth"/> governed turn, once it has ended.</summary>
    private static async Task<long> EndedTurnAsync(HiveInstance hive, string agent, int nth)
    {
        long turn = 0;
        await PollAsync(() => (turn = hive.QueryDb<long>("""
            SELECT coalesce((SELECT id FROM governed_turns WHERE agent = @agent ORDER BY id LIMIT 1 OFFSET @skip), 0)
            """, new { agent, skip = nth - 1 })) > 0
            && hive.QueryDb<long>("SELECT count(*) FROM governed_turns WHERE id = @turn AND ended_at IS NOT NULL", new { turn }) == 1,
            TimeSpan.FromMinutes(2), $"{agent}'s turn {nth} to end");
        return turn;
    }

    private static double TurnMs(HiveInstance hive, long turn) =>
        hive.QueryDb<double>("SELECT (julianday(ended_at) - julianday(granted_at)) * 86400000.0 FROM governed_turns WHERE id = @turn", new { turn });

    private static async Task PollAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
