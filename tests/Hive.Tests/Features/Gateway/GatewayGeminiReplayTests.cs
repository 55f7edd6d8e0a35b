using System.Net;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using static Hive.Tests.Features.Containers.ContainersKit;
using GeminiReply = Hive.Testing.FakeGeminiApi.Reply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// A turn whose model calls went to a <c>gemini</c> provider replays from its recording as any other: alice, run by the
/// real harness with a small Gemini client in Python (<c>streamGenerateContent?alt=sse</c> through her gateway, the answer
/// sent to bob), answers one message; the replay of that turn is answered from the recorded stream, the fake hears
/// nothing of it, and the turn reads back with the model's text.
/// </summary>
public sealed class GatewayGeminiReplayTests : IAsyncLifetime
{
    private const string GeminiClient = """
        import json, os, subprocess, sys, urllib.request
        def call(contents):
            body = json.dumps({"contents": contents, "systemInstruction": {"parts": [{"text": "You are a careful agent."}]}}).encode()
            request = urllib.request.Request(os.environ["GOOGLE_GEMINI_BASE_URL"] + "/v1beta/models/gemini-test:streamGenerateContent?alt=sse",
                data=body, method="POST", headers={"x-goog-api-key": os.environ["GEMINI_API_KEY"], "content-type": "application/json"})
            text = ""
            with urllib.request.urlopen(request) as response:
                for line in response:
                    line = line.decode().strip()
                    if line.startswith("data:"):
                        for part in json.loads(line[5:])["candidates"][0]["content"]["parts"]:
                            text += part.get("text", "")
            return text
        history = []
        for line in sys.stdin:
            history.append({"role": "user", "parts": [{"text": json.loads(line)["body"]}]})
            answer = call(history)
            history.append({"role": "model", "parts": [{"text": answer}]})
            subprocess.run(["hivectl", "send", "bob", answer], check=True)
        """;

    private readonly string _key = "AIza" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(18));
    private FakeGeminiApi _gemini = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        _gemini = await FakeGeminiApi.StartAsync(_key);
        _hive = await HiveInstance.StartAsync(["bob"], [.. GatewayKit.GeminiProvider(_gemini.BaseUrl), "--Hive:Governance:LoopTurns", "0"]);
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/gemini", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    [Fact]
    public async Task A_turn_of_gemini_calls_replays_from_its_recorded_stream_without_the_provider()
    {
        await CreateAsync(_hive.Http, new { name = "alice", driver = "process", provider = "gemini", command = new[] { "hivectl", "run", "--", "python3", "-c", GeminiClient } });
        await using (var bob = await _hive.ConnectAsync("bob"))
        {
            _gemini.Enqueue(GeminiReply.Text("Hello, bob, from a streamed answer."));
            using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "hello" }))
                Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
            var message = await bob.RecvAndAckMessageAsync(waitMs: 30_000) ?? throw new TimeoutException($"bob never heard from alice; her log:\n{Log("alice")}");
            Assert.Equal("Hello, bob, from a streamed answer.", message.Body);
        }
        GatewayKit.CallRow? recorded = null;
        await HiveInstance.Until(() => (recorded = GatewayKit.CallsAsync(_hive).GetAwaiter().GetResult().SingleOrDefault(c => c.Agent == "alice" && c.State == "complete")) is not null,
            what: "alice's call to be booked");
        var turn = recorded!.TurnId!.Value;
        Assert.NotNull(recorded.ResponseBody);
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM governed_turns WHERE id = @turn AND ended_at IS NOT NULL", new { turn }) == 1,
            what: "alice's turn to end");
        var heard = _gemini.Requests.Count;

        using var started = await _hive.Http.PostAsJsonAsync($"/api/turns/{turn}/replay", new { });
        Assert.True(started.StatusCode == HttpStatusCode.Created, $"{(int)started.StatusCode} {await started.Content.ReadAsStringAsync()}");
        var replay = (await started.Content.ReadFromJsonAsync<ReplayView>(HiveJson.Options))!;
        await HiveInstance.Until(() => _hive.GetAsync<ReplayView>($"/api/replays/{replay.Id}").GetAwaiter().GetResult().State != ReplayStates.Running,
            TimeSpan.FromSeconds(60), $"replay {replay.Id} to end");
        replay = await _hive.GetAsync<ReplayView>($"/api/replays/{replay.Id}");

        Assert.True(replay.State == ReplayStates.Identical, $"{replay.State}: {JsonSerializer.Serialize(replay.Divergence, HiveJson.Options)}\n{Log(replay.Agent)}");
        Assert.Equal((1, 1), (replay.CallsReplayed, replay.CallsRecorded));
        Assert.Equal(heard, _gemini.Requests.Count); // the provider heard nothing of the replay
        Assert.Equal("Hello, bob, from a streamed answer.", Assert.Single(replay.Captured).Args.GetProperty("body").GetString());
        var replayed = Assert.Single(await GatewayKit.CallsAsync(_hive), c => c.Agent == replay.Agent);
        Assert.Equal("replayed", replayed.State);
        Assert.Null(replayed.CostUsd); // answered from the recording: nothing spent

        // The turn as its page reads it: the call with the model's text, put back together from the stream.
        var view = await _hive.GetAsync<TurnView>($"/api/turns/{turn}");
        Assert.Equal("Hello, bob, from a streamed answer.", Assert.Single(view.Calls).Answer!.Parts.Single().Text);

        await DestroyAsync(_hive, replay.Agent);
    }

    private string Log(string agent)
    {
        var file = Path.Combine(_hive.DataDir, "agents", agent, "logs", "output.log");
        return File.Exists(file) ? File.ReadAllText(file) : "(no log)";
    }
}
