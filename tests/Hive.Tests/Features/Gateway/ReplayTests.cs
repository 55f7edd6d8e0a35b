using System.Net;
using Hive.Contracts.Containers;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;
using Hive.Features.Gateway.Recordings;
using Hive.Tests.Cli;
using Microsoft.Extensions.Logging;
using static Hive.Tests.Features.Containers.ContainersKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// Replays and forks of recorded turns, driven over HTTP against alice as <see cref="ReplayHive"/> runs her (the real
/// harness around a small Python model client whose second turn resumes its first's conversation).
/// </summary>
public sealed class ReplayTests : IAsyncLifetime
{
    private ReplayHive _kit = null!;
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        _kit = await ReplayHive.StartAsync();
        (_model, _hive) = (_kit.Model, _kit.Hive);
    }

    public Task DisposeAsync() => _kit.DisposeAsync().AsTask();

    private Task<(long First, long Second)> TwoTurnsAsync(string name = "alice") => _kit.TwoTurnsAsync(name);

    private Task<ReplayView> ReplayAsync(long turn, object? body = null) => _kit.ReplayAsync(turn, body);

    [Fact]
    public async Task A_recorded_turn_replays_offline_from_its_checkpoint_with_its_hive_verbs_captured_and_leaves_nothing_running()
    {
        var (_, second) = await TwoTurnsAsync();
        var heard = _model.Requests.Count;

        var replay = await ReplayAsync(second);

        Assert.Equal(ReplayStates.Identical, replay.State);
        Assert.Equal($"alice-replay-{second}", replay.Agent);
        Assert.Equal((2, 2), (replay.CallsReplayed, replay.CallsRecorded));
        Assert.Null(replay.Divergence);
        Assert.Equal(heard, _model.Requests.Count); // the provider heard nothing of the replay
        var send = Assert.Single(replay.Captured);
        Assert.Equal("send", send.Verb);
        Assert.Equal("bob", send.Args.GetProperty("to").GetString());
        Assert.Equal("Then I wait again.", send.Args.GetProperty("body").GetString());
        await using (var bob = await _hive.ConnectAsync("bob"))
            Assert.Null((await bob.RecvOneAsync(waitMs: 0)).Message); // captured, not delivered

        // The replay's own calls were answered from the recording and cost nothing.
        var calls = (await GatewayKit.CallsAsync(_hive)).Where(c => c.Agent == replay.Agent).ToList();
        Assert.Equal(["replayed", "replayed"], calls.Select(c => c.State));
        Assert.All(calls, c => Assert.Null(c.CostUsd));
        // Its row says what it replays (agent rows are assembled in Shared: read raw).
        var row = (await RowAsync(_hive, replay.Agent))!.Value;
        Assert.Equal(second, row.GetProperty("replay_of").GetProperty("turn").GetInt64());
        Assert.Equal("sealed", row.GetProperty("network").GetString());

        // The turn as its page reads it: what woke it, both calls with their answers, the replay of it.
        var view = await _hive.GetAsync<TurnView>($"/api/turns/{second}");
        Assert.Equal(["again"], view.Wake!.Select(m => m.Body));
        Assert.Equal(["Again?", "Then I wait again."], view.Calls.Select(c => c.Answer!.Parts.Single().Text));
        Assert.Null(view.NotReplayable);
        Assert.Equal(replay.Id, Assert.Single(view.Replays).Id);

        await DestroyAsync(_hive, replay.Agent);
        Assert.Empty(GatewayKit.ProcessesOf(replay.Agent));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'bob' AND sender = @Agent", replay));
    }

    [Fact]
    public async Task A_changed_system_prompt_stops_the_replay_at_the_first_call_with_a_diff_naming_the_changed_text()
    {
        var (first, _) = await TwoTurnsAsync();
        var heard = _model.Requests.Count;

        var replay = await ReplayAsync(first, new { into = "changed", env = new Dictionary<string, string> { ["AGENT_SYSTEM"] = "You are a pirate." } });

        Assert.Equal(ReplayStates.Diverged, replay.State);
        var divergence = replay.Divergence!;
        Assert.Equal(1, divergence.Call);
        var system = Assert.Single(divergence.Differences);
        Assert.Equal("$.system", system.Path);
        Assert.Equal(("You are a careful agent.", "You are a pirate."), (system.Recorded, system.Replayed));
        Assert.Equal(0, replay.CallsReplayed);
        Assert.Empty(replay.Captured); // it stopped before sending anything
        Assert.Equal(heard, _model.Requests.Count);
        await DestroyAsync(_hive, "changed");
    }

    [Fact]
    public async Task Gone_live_at_its_divergence_a_replay_asks_the_model_from_there_on_and_still_captures_its_hive_verbs()
    {
        var (first, _) = await TwoTurnsAsync();
        var heard = _model.Requests.Count;
        _model.Enqueue(ModelReply.Text("Arr."), ModelReply.Text("Then I wait, matey."));

        var replay = await ReplayAsync(first, new { into = "pirate", on_divergence = "live", env = new Dictionary<string, string> { ["AGENT_SYSTEM"] = "You are a pirate." } });

        Assert.Equal(ReplayStates.Diverged, replay.State);
        Assert.Equal((1, "$.system"), (replay.Divergence!.Call, replay.Divergence.Differences[0].Path));
        // From the divergence on, both of its calls went to the model, with the changed prompt, and were metered as the replay agent's.
        var live = _model.Requests.Skip(heard).ToList();
        Assert.Equal(2, live.Count);
        Assert.All(live, r => Assert.Contains("You are a pirate.", r.Body!.Value.GetProperty("system").GetString()));
        var calls = (await GatewayKit.CallsAsync(_hive)).Where(c => c.Agent == "pirate").ToList();
        Assert.Equal(["complete", "complete"], calls.Select(c => c.State));
        // Its send is still captured, with the live answer, and not delivered.
        var send = Assert.Single(replay.Captured);
        Assert.Equal("Then I wait, matey.", send.Args.GetProperty("body").GetString());
        await using (var bob = await _hive.ConnectAsync("bob"))
            Assert.Null((await bob.RecvOneAsync(waitMs: 0)).Message);
        await DestroyAsync(_hive, "pirate");
    }

    [Fact]
    public async Task Bad_replays_are_refused_with_the_reason_and_create_nothing()
    {
        var (first, _) = await TwoTurnsAsync();
        // A turn still running: one bob holds open on its socket.
        var bob = await _hive.ConnectAsync("bob");
        var running = (await bob.CallAsync(Hive.Contracts.Governance.GovernanceVerbs.BeginTurn, new Hive.Contracts.Governance.BeginTurnArgs(0))).TurnId!.Value;
        var agents = _hive.QueryDb<long>("SELECT count(*) FROM agents");

        async Task RefusedAsync(long turn, object body, HttpStatusCode status, string says)
        {
            using var response = await _hive.Http.PostAsJsonAsync($"/api/turns/{turn}/replay", body);
            var problem = Problem.Of(await response.Content.ReadFromJsonAsync<JsonElement>());
            Assert.True(response.StatusCode == status, $"turn {turn} {body}: {(int)response.StatusCode} {problem.Detail}");
            Assert.Contains(says, problem.Detail);
        }

        await RefusedAsync(999_999, new { }, HttpStatusCode.NotFound, "no turn 999999");
        await RefusedAsync(running, new { }, HttpStatusCode.Conflict, "still running");
        await RefusedAsync(first, new { into = "bob" }, HttpStatusCode.Conflict, "bob is taken");
        await RefusedAsync(first, new { into = "Not A Name" }, HttpStatusCode.BadRequest, "into must be an agent's name");
        await RefusedAsync(first, new { on_divergence = "maybe" }, HttpStatusCode.BadRequest, "on_divergence must be stop or live");

        // An agent whose calls are not recorded has no checkpoint to start from.
        await bob.DisposeAsync(); // ends the running turn
        await UntilEndedAsync(running);
        using (var off = await _hive.Http.PutAsJsonAsync("/api/agents/bob/calls/recording", new { on = false }))
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        long unrecorded;
        await using (var again = await _hive.ConnectAsync("bob"))
            unrecorded = (await again.CallAsync(Hive.Contracts.Governance.GovernanceVerbs.BeginTurn, new Hive.Contracts.Governance.BeginTurnArgs(0))).TurnId!.Value;
        await UntilEndedAsync(unrecorded);
        await RefusedAsync(unrecorded, new { }, HttpStatusCode.Conflict, "has no checkpoint");

        // Retention removed the recordings: the reason says so.
        _hive.Service<CallBodies>().Sweep(TimeSpan.Zero, 0, DateTime.UtcNow.AddMinutes(1));
        await RefusedAsync(first, new { }, HttpStatusCode.Conflict, "removed by retention");

        Assert.Equal(agents, _hive.QueryDb<long>("SELECT count(*) FROM agents"));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM replays"));
    }

    [Fact]
    public async Task A_fork_at_the_first_turn_runs_on_another_model_with_the_first_turns_conversation_and_leaves_the_original_as_it_was()
    {
        var (first, _) = await TwoTurnsAsync();
        var files = StateFiles("alice");
        var conversation = await _hive.GetJsonAsync("/api/agents/alice/conversation");
        _model.Enqueue(ModelReply.Text("Forked."), ModelReply.Text("Then I wait, forked."));

        using var forked = await _hive.Http.PostAsJsonAsync("/api/agents/alice/fork", new { at_turn = first, model = "claude-other", message = "what now?" });
        Assert.True(forked.StatusCode == HttpStatusCode.Created, await forked.Content.ReadAsStringAsync());
        var fork = (await forked.Content.ReadFromJsonAsync<ForkView>(HiveJson.Options))!;
        Assert.Equal(($"alice-fork-{first}", "alice", first), (fork.Agent, fork.SourceAgent, fork.SourceTurn));

        // Its next turn is live, on the other model, and carries turn 1's conversation (and not turn 2's).
        var asked = await _model.WaitForRequestAsync(r => r.IsMessages && r.Mentions("what now?"), TimeSpan.FromSeconds(60));
        Assert.Equal("claude-other", asked.Model);
        Assert.True(asked.Mentions("hello") && asked.Mentions("Then I wait."), "turn 1's messages are in the fork's request");
        Assert.False(asked.Mentions("Again?"), "turn 2 came after the fork's point");
        await using (var bob = await _hive.ConnectAsync("bob"))
            Assert.Equal("Then I wait, forked.", (await bob.RecvAndAckMessageAsync(waitMs: 30_000))?.Body); // live: delivered

        // Its row links back to the original's turn (agent rows are assembled in Shared: read raw).
        var forkOf = (await RowAsync(_hive, fork.Agent))!.Value.GetProperty("fork_of");
        Assert.Equal(("alice", first), (forkOf.GetProperty("agent").GetString(), forkOf.GetProperty("turn").GetInt64()));
        // The original is as it was, byte for byte: its files and its conversation.
        Assert.Equal(files, StateFiles("alice"));
        Assert.Equal(conversation.GetRawText(), (await _hive.GetJsonAsync("/api/agents/alice/conversation")).GetRawText());
        await DestroyAsync(_hive, fork.Agent);
        Assert.Empty(GatewayKit.ProcessesOf(fork.Agent));
    }

    [Fact]
    public async Task Bad_forks_are_refused_with_the_reason_and_create_nothing()
    {
        var (first, second) = await TwoTurnsAsync();
        var agents = _hive.QueryDb<long>("SELECT count(*) FROM agents");

        async Task RefusedAsync(string agent, object body, HttpStatusCode status, string says)
        {
            using var response = await _hive.Http.PostAsJsonAsync($"/api/agents/{agent}/fork", body);
            var problem = Problem.Of(await response.Content.ReadFromJsonAsync<JsonElement>());
            Assert.True(response.StatusCode == status, $"{agent} {body}: {(int)response.StatusCode} {problem.Detail}");
            Assert.Contains(says, problem.Detail);
        }

        await RefusedAsync("alice", new { }, HttpStatusCode.BadRequest, "at_turn is required");
        await RefusedAsync("alice", new { at_turn = 999_999 }, HttpStatusCode.NotFound, "no turn 999999 of alice");
        await RefusedAsync("bob", new { at_turn = first }, HttpStatusCode.NotFound, $"no turn {first} of bob");
        await RefusedAsync("alice", new { at_turn = first, name = "bob" }, HttpStatusCode.Conflict, "bob is taken");
        await RefusedAsync("alice", new { at_turn = first, model = "no spaces allowed" }, HttpStatusCode.BadRequest, "model must be");
        // Its last turn had no next: without a message there is nothing to hand the fork.
        await RefusedAsync("alice", new { at_turn = second }, HttpStatusCode.BadRequest, "message is required");

        Assert.Equal(agents, _hive.QueryDb<long>("SELECT count(*) FROM agents"));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM forks"));
        Assert.False(Directory.Exists(Path.Combine(_hive.DataDir, "agents", $"alice-fork-{first}")));
    }

    [Fact]
    public async Task A_fork_the_manager_asks_for_waits_for_the_operators_approval_and_is_then_made_as_the_operators_own()
    {
        var (first, second) = await TwoTurnsAsync();
        await using var manager = await _hive.ConnectAsync("manager");
        var args = new RequestForkArgs("alice", first, "claude-other", null, "what now?");

        // Only the manager may ask; bad requests are refused there and then, and open nothing.
        await using (var bob = await _hive.ConnectAsync("bob"))
            Assert.Equal("forbidden", (await bob.RefusalOfAsync(GatewayVerbs.RequestFork, args)).Code);
        Assert.Equal("not_found", (await manager.RefusalOfAsync(GatewayVerbs.RequestFork, args with { AtTurn = 999_999 })).Code);
        Assert.Equal("validation", (await manager.RefusalOfAsync(GatewayVerbs.RequestFork, args with { Model = "no spaces allowed" })).Code);
        var before = (await ApprovalsAsync(_hive, all: true)).Count;

        var id = (await manager.CallAsync(GatewayVerbs.RequestFork, args)).ApprovalId;
        var approval = Assert.Single(await ApprovalsAsync(_hive), a => a.Id == id);
        Assert.Equal(("fork", "alice", "manager"), (approval.Kind, approval.Agent, approval.Requester));
        Assert.Equal($"alice-fork-{first}", approval.Payload.GetProperty("name").GetString());
        Assert.Equal(before + 1, (await ApprovalsAsync(_hive, all: true)).Count);
        Assert.Null(await RowAsync(_hive, $"alice-fork-{first}")); // nothing until the operator approves

        _model.Enqueue(ModelReply.Text("Forked."), ModelReply.Text("Then I wait, forked."));
        using (var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", null))
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        Assert.Equal("approved", (await MessageFromHiveAsync(manager, "approval_resolved", "the fork of alice")).ExtraString("status"));
        var asked = await _model.WaitForRequestAsync(r => r.IsMessages && r.Mentions("what now?"), TimeSpan.FromSeconds(60));
        Assert.Equal("claude-other", asked.Model);
        Assert.Equal(first, (await RowAsync(_hive, $"alice-fork-{first}"))!.Value.GetProperty("fork_of").GetProperty("turn").GetInt64());

        // Approved but impossible by then (the name is taken now): the manager is told why, and nothing else is made.
        var again = (await manager.CallAsync(GatewayVerbs.RequestFork, args with { AtTurn = second, Name = $"alice-fork-{first}" })).ApprovalId;
        using (var approved = await _hive.Http.PostAsync($"/api/approvals/{again}/approve", null))
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        var failed = await MessageFromHiveAsync(manager, "fork_failed", $"approval {again}");
        Assert.Contains("is taken", failed.Body);
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM forks"));
        await DestroyAsync(_hive, $"alice-fork-{first}");
    }

    [Fact]
    public async Task A_prompt_regression_replays_the_last_turns_with_a_changed_preset_and_writes_a_report_a_person_reads()
    {
        var (first, second) = await TwoTurnsAsync();
        var heard = _model.Requests.Count;
        var dir = Directory.CreateTempSubdirectory("hive-regression-").FullName;
        try
        {
            // alice's command as a preset file: once as it was, once with another system prompt.
            var command = new[] { "hivectl", "run", "--", "python3", "-c", ReplayHive.ModelClient };
            await File.WriteAllTextAsync(Path.Combine(dir, "same.json"), JsonSerializer.Serialize(new { command }));
            await File.WriteAllTextAsync(Path.Combine(dir, "pirate.json"),
                JsonSerializer.Serialize(new { command, env = new Dictionary<string, string> { ["AGENT_SYSTEM"] = "You are a pirate." } }));
            async Task<(JsonElement Summary, string Markdown)> RegressAsync(string preset)
            {
                var report = Path.Combine(dir, $"report-{preset}");
                (await Hivectl.RunAsync(["--url", _hive.BaseAddress.ToString(), "--token", _hive.Token!, "replay", "--agent", "alice", "--last", "5",
                    "--preset-file", Path.Combine(dir, $"{preset}.json"), "--report", report], timeout: TimeSpan.FromMinutes(3))).Ok();
                return (JsonDocument.Parse(await File.ReadAllTextAsync(report + ".json")).RootElement.Clone(), await File.ReadAllTextAsync(report + ".md"));
            }

            var (same, _) = await RegressAsync("same");
            Assert.Equal((2, 2, 0), (same.GetProperty("turns").GetInt32(), same.GetProperty("identical").GetInt32(), same.GetProperty("diverged").GetInt32()));
            Assert.Equal([first, second], same.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("turn").GetInt64()));

            var (pirate, markdown) = await RegressAsync("pirate");
            Assert.True((2, 0, 2) == (pirate.GetProperty("turns").GetInt32(), pirate.GetProperty("identical").GetInt32(), pirate.GetProperty("diverged").GetInt32()),
                pirate.ToString());
            foreach (var result in pirate.GetProperty("results").EnumerateArray())
            {
                var divergence = result.GetProperty("divergence");
                Assert.Equal(1, divergence.GetProperty("call").GetInt32());
                Assert.Equal("$.system", divergence.GetProperty("differences")[0].GetProperty("path").GetString());
            }
            Assert.Contains($"| #{first} | diverged | 0 of 2 | call 1: `$.system` |", markdown);
            Assert.Contains("- You are a careful agent.\n+ You are a pirate.", markdown);

            // Nothing of it is left, nothing reached the model or bob.
            Assert.Equal(heard, _model.Requests.Count);
            Assert.Null(await RowAsync(_hive, $"alice-replay-{first}"));
            Assert.Null(await RowAsync(_hive, $"alice-replay-{second}"));
            Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'bob' AND sender LIKE 'alice-replay-%'"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Every file of the agent's state dir by its path, with its bytes' hash.</summary>
    private Dictionary<string, string> StateFiles(string agent)
    {
        var root = Path.Combine(_hive.DataDir, "agents", agent, "state");
        return Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));
    }

    private Task UntilEndedAsync(long turn) => Governance.GovernanceHive.UntilTurnEndedAsync(_hive, turn);
}
