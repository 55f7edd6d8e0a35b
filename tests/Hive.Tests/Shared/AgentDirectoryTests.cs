using System.Collections.Concurrent;
using System.Net.Sockets;
using Hive.Contracts.Agents;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Shared;

/// <summary>The live agent set: sockets, state dirs, snapshot rows and dashboard events follow the directory.</summary>
public sealed class AgentDirectoryTests(AgentDirectoryTests.Fixture fixture) : SharedHiveTests(fixture), IClassFixture<AgentDirectoryTests.Fixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The class's hive, with its probes: they key what they record by agent, and every test adds agents of its own
    /// (names made unique here with <see cref="Unique"/> where a test needs many).
    /// </summary>
    public sealed class Fixture : HiveFixture
    {
        public RecvProbe Recvs { get; } = new();

        protected override void ConfigureServices(IServiceCollection services)
        {
            services.AddSingleton(Recvs);
            services.AddTransient<IRequestHandler<AddInsideAChange, Unit>, AddInsideAChangeHandler>();
            services.AddTransient<IPipelineBehavior<ReceiveMessage.Query, ReceiveMessage.Result>, RecvProbeBehavior>();
        }
    }

    private static int _prefixes;
    private readonly HiveInstance _hive = fixture.Hive;
    private readonly RecvProbe _recvs = fixture.Recvs;

    private AgentDirectory Directory => _hive.Service<AgentDirectory>();

    /// <summary>A name prefix no other test of this run uses, for tests that add agents by the dozen.</summary>
    private static string Unique(string prefix) => $"{prefix}{Interlocked.Increment(ref _prefixes)}x";

    [Fact]
    public async Task An_agent_added_at_run_time_gets_a_socket_a_state_dir_a_row_and_its_messages()
    {
        var alice = await _hive.NewAgentAsync("alice");
        var carol = Unique("carol");
        await using var events = await _hive.OpenEventsAsync();
        Assert.False(File.Exists(_hive.SocketPath(carol)));

        Assert.True(await Directory.AddAsync(carol));

        Assert.True(File.Exists(_hive.SocketPath(carol)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_hive.SocketPath(carol)));
        var stateDir = Path.Combine(_hive.DataDir, "agents", carol, "state");
        Assert.True(System.IO.Directory.Exists(stateDir));
        Assert.True(Directory.IsAgent(carol));
        Assert.False(await Directory.AddAsync(carol)); // already there

        var changed = await events.WaitForAsync("container_state_changed", e => e.GetProperty("agent").GetProperty("name").GetString() == carol);
        var row = changed.Json.GetProperty("agent"); // an agent row is assembled at run time: no record, raw
        Assert.Equal(["name", "kind", "state_dir", "message_storage", "pending_reminders", "waiting_on", "waiting_since", "open_questions", "driver", "desired", "state", "transient", "pid", "started_at", "restarts", "last_exit", "purpose", "command", "restart", "config_error", "allowed_recipients", "capabilities", "secrets", "provider", "network", "egress", "egress_ask", "permissions", "parent", "may_spawn", "preset", "template", "providers", "models", "limits", "usage", "model_calls", "forge", "turns_24h", "tokens_24h", "last_turn_at", "last_result", "tokens_by_hour", "turns_by_hour", "aggregated_at", "transcript_storage", "held", "paused", "spend_today_usd", "spend_month_usd", "subtree_spend_today_usd", "subtree_spend_month_usd", "burn_usd_per_hour", "budget_runs_out_at", "provider_now", "model_calls_failing", "calls_recorded", "replay_of", "fork_of"], row.EnumerateObject().Select(p => p.Name));
        Assert.Equal("agent", row.GetProperty("kind").GetString());
        Assert.Equal(stateDir, row.GetProperty("state_dir").GetString());
        Assert.Equal(0, row.GetProperty("pending_reminders").GetInt64());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("waiting_on").ValueKind);

        await using var carolClient = await _hive.ConnectAsync(carol);
        Assert.Equal(carol, (await carolClient.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
        await using var aliceClient = await _hive.ConnectAsync(alice);
        await aliceClient.SendAsync(carol, "welcome, carol");
        Assert.Equal("welcome, carol", (await carolClient.RecvMessageAsync(waitMs: 5_000))!.Body);

        // manager first, then every agent by name (of the rows: manager and this test's two; others are other tests').
        var state = await _hive.GetJsonAsync("/api/state");
        var names = state.GetProperty("agents").EnumerateArray().Select(a => a.GetProperty("name").GetString()!).ToList();
        Assert.Equal("manager", names[0]);
        Assert.Equal(names.Skip(1).Order(StringComparer.Ordinal), names.Skip(1));
        Assert.Equal(["manager", alice, carol], names.Where(n => n == "manager" || n == alice || n == carol));
        Assert.True(state.GetProperty("seq").GetInt64() >= changed.Id);
    }

    [Fact]
    public async Task A_removed_agent_loses_its_socket_its_connections_a_parked_recv_and_its_row()
    {
        var dave = Unique("dave");
        var alice = await _hive.NewAgentAsync("alice");
        Assert.True(await Directory.AddAsync(dave));
        await using var events = await _hive.OpenEventsAsync();
        await using var idle = await _hive.ConnectAsync(dave);
        Assert.Equal(dave, (await idle.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
        await using var parked = await _hive.ConnectAsync(dave);
        var parkedRecv = parked.CallAsync(new { op = "recv", wait_ms = 30_000 });
        await _recvs.Entered(dave).WaitAsync(Deadline);

        Assert.True(await Directory.RemoveAsync(dave));

        Assert.False(File.Exists(_hive.SocketPath(dave)));
        await AssertClosedAsync(parkedRecv); // long before its 30 s wait would end
        Assert.Equal("cancelled", await _recvs.Left(dave).WaitAsync(Deadline)); // the host stopped waiting too
        await AssertClosedAsync(idle.ReadReplyAsync());
        await Assert.ThrowsAnyAsync<SocketException>(() => _hive.ConnectAsync(dave));

        await using var aliceClient = await _hive.ConnectAsync(alice);
        var refused = await aliceClient.RefusalOfAsync(MessageVerbs.Send, new SendArgs(dave, "still there?", null, null));
        Assert.Equal("not_found", refused.Code);

        var removed = await events.WaitForAsync("container_removed", e => e.Deserialize<AgentRemovedPayload>(HiveJson.Options)!.Name == dave);
        var state = await _hive.GetJsonAsync("/api/state");
        Assert.DoesNotContain(dave, state.GetProperty("agents").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        Assert.True(state.GetProperty("seq").GetInt64() >= removed.Id);
        Assert.True(System.IO.Directory.Exists(Path.Combine(_hive.DataDir, "agents", dave, "state"))); // the state dir stays
        Assert.False(await Directory.RemoveAsync(dave));
    }

    [Fact]
    public async Task An_agent_added_back_brings_its_features_facts_in_its_row()
    {
        var alice = await _hive.NewAgentAsync("alice");
        await using (var client = await _hive.ConnectAsync(alice))
        {
            await client.CallAsync(new { op = "remind", body = "later", in_seconds = 3600 });
            await client.CallAsync(new { op = "ask", question = "still with me?" });
        }
        Assert.True(await Directory.RemoveAsync(alice));
        await using var events = await _hive.OpenEventsAsync();

        Assert.True(await Directory.AddAsync(alice));

        var row = (await events.WaitForAsync("container_state_changed")).Json.GetProperty("agent");
        Assert.Equal(alice, row.GetProperty("name").GetString());
        Assert.Equal(1, row.GetProperty("pending_reminders").GetInt64());
        Assert.Equal("operator", row.GetProperty("waiting_on").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", row.GetProperty("waiting_since").GetString());
        await using var again = await _hive.ConnectAsync(alice);
        Assert.Equal(alice, (await again.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
    }

    [Fact]
    public async Task A_subscriber_sees_each_agent_once_in_its_list_or_as_a_change()
    {
        var prefix = Unique("n");
        var names = Enumerable.Range(0, 30).Select(i => $"{prefix}{i:00}").ToList();
        var changes = new ConcurrentQueue<AgentChange>();
        var adding = Task.Run(async () => { foreach (var name in names) await Directory.AddAsync(name); });
        await HiveInstance.Until(() => Directory.IsAgent(names[5]), Deadline, "some agents added");

        using var subscription = Directory.Subscribe(changes.Enqueue);
        await adding;

        var listed = subscription.Agents.Select(a => a.Name).Where(names.Contains).ToList();
        var announced = changes.Where(c => c.Kind == AgentChangeKind.Added).Select(c => c.Agent.Name).Where(names.Contains).ToList();
        Assert.Equal(names, listed.Concat(announced).Order());
        Assert.Equal(announced.Order(), announced); // in the order of the changes
        Assert.Contains(names[5], listed);

        subscription.Dispose();
        await Directory.RemoveAsync(names[0]);
        Assert.DoesNotContain(changes, c => c.Kind == AgentChangeKind.Removed);
    }

    [Fact]
    public async Task Every_agent_added_is_in_a_snapshot_or_in_the_stream_after_its_seq_exactly_once()
    {
        var prefix = Unique("s");
        var names = Enumerable.Range(0, 20).Select(i => $"{prefix}{i:00}").ToList();
        var marker = prefix + "marker";
        var adding = Task.Run(async () => { foreach (var name in names) await Directory.AddAsync(name); });
        var snapshots = new List<JsonElement>();
        do snapshots.Add(await _hive.GetJsonAsync("/api/state")); while (!adding.IsCompleted);
        await adding;
        Assert.True(await Directory.AddAsync(marker));

        foreach (var state in snapshots.Where((_, i) => i % Math.Max(1, snapshots.Count / 8) == 0))
        {
            var seen = state.GetProperty("agents").EnumerateArray().Select(a => a.GetProperty("name").GetString()!).Where(names.Contains).ToList();
            await using var events = await _hive.OpenEventsAsync(state.GetProperty("seq").GetInt64());
            while (true)
            {
                var e = (await events.NextAsync(Deadline))!;
                if (e.Type != "container_state_changed") continue;
                var name = e.Json.GetProperty("agent").GetProperty("name").GetString()!;
                if (name == marker) break;
                if (names.Contains(name)) seen.Add(name);
            }
            Assert.Equal(names, seen.Order());
        }
    }

    [Fact]
    public async Task Names_that_are_not_agent_names_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Directory.AddAsync("Not-A-Name"));
        await Assert.ThrowsAsync<ArgumentException>(() => Directory.AddAsync("operator"));
        Assert.False(Directory.IsAgent("operator"));
    }

    [Fact]
    public async Task Agent_rows_in_the_snapshot_carry_every_features_facts_under_their_wire_names()
    {
        var state = await _hive.GetJsonAsync("/api/state");
        foreach (var row in state.GetProperty("agents").EnumerateArray())
            Assert.Equal(["name", "kind", "state_dir", "message_storage", "pending_reminders", "waiting_on", "waiting_since", "open_questions", "driver", "desired", "state", "transient", "pid", "started_at", "restarts", "last_exit", "purpose", "command", "restart", "config_error", "allowed_recipients", "capabilities", "secrets", "provider", "network", "egress", "egress_ask", "permissions", "parent", "may_spawn", "preset", "template", "providers", "models", "limits", "usage", "model_calls", "forge", "turns_24h", "tokens_24h", "last_turn_at", "last_result", "tokens_by_hour", "turns_by_hour", "aggregated_at", "transcript_storage", "held", "paused", "spend_today_usd", "spend_month_usd", "subtree_spend_today_usd", "subtree_spend_month_usd", "burn_usd_per_hour", "budget_runs_out_at", "provider_now", "model_calls_failing", "calls_recorded", "replay_of", "fork_of"], row.EnumerateObject().Select(p => p.Name));
    }

    private static async Task AssertClosedAsync(Task<JsonElement> reply)
    {
        var error = await Record.ExceptionAsync(() => reply.WaitAsync(Deadline));
        Assert.True(error is IOException or SocketException,
            $"the host should have closed the connection; got {(error is null ? "a reply: " + reply.Result : error.GetType().Name)}");
    }

    /// <summary>
    /// Tells the test when a long-poll recv has reached the broker (so removing the agent finds it parked) and how it
    /// ended on the host's side.
    /// </summary>
    [Fact]
    public async Task An_add_inside_a_change_that_rolls_back_leaves_no_agent_no_socket_and_no_event()
    {
        var erin = Unique("erin");
        await using var events = await _hive.OpenEventsAsync();
        using (var scope = _hive.Services.CreateScope())
            await Assert.ThrowsAsync<InvalidOperationException>(() =>
                scope.ServiceProvider.GetRequiredService<IMediator>().Send(new AddInsideAChange(erin, Fail: true)));

        Assert.False(Directory.IsAgent(erin));
        Assert.False(File.Exists(_hive.SocketPath(erin)));

        // The same add in a change that commits: it joins that change, and the agent arrives with its commit.
        using (var scope = _hive.Services.CreateScope())
            await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new AddInsideAChange(erin, Fail: false))
                .WaitAsync(Deadline);
        Assert.True(Directory.IsAgent(erin));
        Assert.True(File.Exists(_hive.SocketPath(erin)));
        // Nothing else changes the agent set while this test runs, so the first change after the stream opened is the commit's.
        var first = await events.WaitForAsync("container_state_changed", _ => true);
        Assert.Equal(erin, first.Json.GetProperty("agent").GetProperty("name").GetString()); // nothing from the rolled-back add
    }

    /// <summary>A feature's state change that adds an agent as part of its own work (as the Containers registry will).</summary>
    public sealed record AddInsideAChange(string Name, bool Fail) : IRequest, Hive.Shared.Changes.IChangesState;

    private sealed class AddInsideAChangeHandler(AgentDirectory directory) : IRequestHandler<AddInsideAChange, Unit>
    {
        public async Task<Unit> Handle(AddInsideAChange request, CancellationToken cancellationToken)
        {
            Assert.True(await directory.AddAsync(request.Name, cancellationToken));
            if (request.Fail) throw new InvalidOperationException("the registry's change failed");
            return Unit.Value;
        }
    }

    public sealed class RecvProbe
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _entered = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _left = new();

        public Task Entered(string agent) => Entered_(agent).Task;
        public void Enter(string agent) => Entered_(agent).TrySetResult();

        /// <summary>How the broker's recv ended: "cancelled", "returned" or the exception's name.</summary>
        public Task<string> Left(string agent) => Left_(agent).Task;
        public void Leave(string agent, string how) => Left_(agent).TrySetResult(how);

        private TaskCompletionSource Entered_(string agent) =>
            _entered.GetOrAdd(agent, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        private TaskCompletionSource<string> Left_(string agent) =>
            _left.GetOrAdd(agent, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    private sealed class RecvProbeBehavior(RecvProbe probe) : IPipelineBehavior<ReceiveMessage.Query, ReceiveMessage.Result>
    {
        public async Task<ReceiveMessage.Result> Handle(ReceiveMessage.Query request, CancellationToken cancellationToken, RequestHandlerDelegate<ReceiveMessage.Result> next)
        {
            if (request.WaitMs is not > 0) return await next();
            probe.Enter(request.Agent);
            try
            {
                var message = await next();
                probe.Leave(request.Agent, "returned");
                return message;
            }
            catch (OperationCanceledException)
            {
                probe.Leave(request.Agent, "cancelled");
                throw;
            }
            catch (Exception e)
            {
                probe.Leave(request.Agent, e.GetType().Name);
                throw;
            }
        }
    }
}
