using System.Net;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using Microsoft.Extensions.Logging;
using static Hive.Tests.Features.Containers.ContainersKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// A hive whose provider is a fake Messages API, with bob, and alice made on demand: run by the real harness
/// (<c>hivectl run</c>) with a small model client in Python that keeps its conversation in <c>$HOME/conversation.json</c>,
/// makes two calls to the Messages API through its gateway per message (the second carries the first's answer) and sends
/// the last answer to bob with <c>hivectl send</c>. Its second turn starts from its first turn's conversation, so a replay
/// of it that did not start from the state dir as it was when the turn was granted would ask the model something else.
/// The fake must hear nothing of a replay.
/// </summary>
public sealed class ReplayHive : IAsyncDisposable
{
    public const string ModelClient = """
        import json, os, subprocess, sys, urllib.error, urllib.request
        path = os.path.join(os.environ["HOME"], "conversation.json")
        history = json.load(open(path)) if os.path.exists(path) else []
        system = os.environ.get("AGENT_SYSTEM", "You are a careful agent.")
        def call(messages):
            body = json.dumps({"model": os.environ.get("HIVE_MODEL") or "claude-test", "max_tokens": 64, "system": system, "messages": messages}).encode()
            request = urllib.request.Request(os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages", data=body, method="POST",
                headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01", "content-type": "application/json"})
            try:
                with urllib.request.urlopen(request) as response:
                    answer = json.load(response)
            except urllib.error.HTTPError as e:
                print("the model refused:", e.code, e.read().decode(), file=sys.stderr)
                sys.exit(2)
            return "".join(b.get("text", "") for b in answer["content"] if b["type"] == "text")
        for line in sys.stdin:
            history.append({"role": "user", "content": json.loads(line)["body"]})
            first = call(history)
            history += [{"role": "assistant", "content": first}, {"role": "user", "content": "and then?"}]
            second = call(history)
            history.append({"role": "assistant", "content": second})
            subprocess.run(["hivectl", "send", "bob", second], check=True)
        json.dump(history, open(path, "w"))
        """;

    private readonly FakeMessagesApi _model;
    private readonly HiveInstance _hive;

    private ReplayHive(FakeMessagesApi model, HiveInstance hive) => (_model, _hive) = (model, hive);

    public FakeMessagesApi Model => _model;
    public HiveInstance Hive => _hive;

    public static async Task<ReplayHive> StartAsync()
    {
        var key = GatewayKit.NewKey();
        var model = await FakeMessagesApi.StartAsync(key);
        try
        {
            var hive = await HiveInstance.StartAsync(["bob"], [.. GatewayKit.Provider(model.BaseUrl), "--Hive:Governance:LoopTurns", "0"]);
            var kit = new ReplayHive(model, hive);
            using (var saved = await hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = key }))
                if (saved.StatusCode != HttpStatusCode.Created) { await kit.DisposeAsync(); Assert.Fail($"the key was not saved: {saved.StatusCode}"); }
            return kit;
        }
        catch
        {
            await model.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _hive.DisposeAsync();
        await _model.DisposeAsync();
    }

    /// <summary>alice, run by the harness, after two turns (each answered by the fake model twice); the ids of her two turns.</summary>
    public async Task<(long First, long Second)> TwoTurnsAsync(string name = "alice")
    {
        await CreateAsync(_hive.Http, new { name, driver = "process", provider = "anthropic", command = new[] { "hivectl", "run", "--", "python3", "-c", ModelClient } });
        await using var bob = await _hive.ConnectAsync("bob");
        var turns = new List<long>();
        foreach (var (ask, answers) in new[] { ("hello", new[] { "Hello.", "Then I wait." }), ("again", new[] { "Again?", "Then I wait again." }) })
        {
            _model.Enqueue(answers.Select(a => (ModelReply)ModelReply.Text(a)).ToArray());
            using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body = ask }))
                Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
            var message = await bob.RecvAndAckMessageAsync(waitMs: 30_000) ?? throw new TimeoutException($"bob never heard from {name} after '{ask}'; its log:\n{Log(name)}");
            Assert.Equal(answers[1], message.Body);
            var calls = await UntilCallsAsync(name, turns.Count * 2 + 2);
            turns.Add(calls[^1].TurnId!.Value);
        }
        // Each turn ended (recorded) before a replay of it is asked for.
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM governed_turns WHERE agent = @name AND ended_at IS NOT NULL", new { name }) >= 2,
            what: $"{name}'s two turns to end");
        return (turns[0], turns[1]);
    }

    private async Task<IReadOnlyList<GatewayKit.CallRow>> UntilCallsAsync(string agent, int count)
    {
        IReadOnlyList<GatewayKit.CallRow> calls = [];
        await HiveInstance.Until(() => (calls = GatewayKit.CallsAsync(_hive).GetAwaiter().GetResult().Where(c => c.Agent == agent && c.State == "complete").ToList()).Count >= count,
            what: $"{count} complete calls of {agent}");
        return calls;
    }

    /// <summary>Starts a replay of the turn over HTTP and waits for it to end.</summary>
    public async Task<ReplayView> ReplayAsync(long turn, object? body = null)
    {
        using var started = await _hive.Http.PostAsJsonAsync($"/api/turns/{turn}/replay", body ?? new { });
        Assert.True(started.StatusCode == HttpStatusCode.Created, $"replay of turn {turn}: {(int)started.StatusCode} {await started.Content.ReadAsStringAsync()}\n" +
            string.Join("\n", _hive.Logs.Lines.Where(l => l.Level >= LogLevel.Error).Select(l => l.Text)));
        var replay = (await started.Content.ReadFromJsonAsync<ReplayView>(HiveJson.Options))!;
        Assert.Equal(ReplayStates.Running, replay.State);
        await HiveInstance.Until(() => _hive.GetAsync<ReplayView>($"/api/replays/{replay.Id}").GetAwaiter().GetResult().State != ReplayStates.Running,
            TimeSpan.FromSeconds(60), $"replay {replay.Id} to end");
        return await _hive.GetAsync<ReplayView>($"/api/replays/{replay.Id}");
    }

    public string Log(string agent) =>
        File.ReadAllText(Path.Combine(_hive.DataDir, "agents", agent, "logs", "output.log"));
}
