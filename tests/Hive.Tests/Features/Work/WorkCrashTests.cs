using System.Net.Http.Json;

namespace Hive.Tests.Features.Work;

/// <summary>
/// The host as a child process, SIGKILLed at random moments while two agents claim and submit tickets: a kill may fall
/// between a claim's commit and its reply, or between a gate and its move. Afterwards no ticket is lost, held by two
/// agents, or moved twice: each went backlog → build → done exactly once, with one submission in its context.
/// </summary>
public sealed class WorkCrashTests : IAsyncLifetime
{
    private const int Tickets = 40;
    private const int Kills = 8;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-work-crash-" + Guid.NewGuid().ToString("N")[..12]);
    private static readonly string[] Args = ["--Hive:Work:SweepSeconds", "1", "--Hive:Work:OfferSeconds", "2", "--Hive:Containers:Driver", "process"];
    private static readonly string[] Agents = ["alice", "bob"];

    private const string Workflow = """
        name: crash
        phases:
          - name: backlog
            allowed_transitions: [build]
          - name: build
            needs: [build]
            wip_limit: 6
            expected_outputs:
              - kind: note
            allowed_transitions: [done]
          - name: done
            terminal: true
        """;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task SIGKILLs_during_claims_and_gates_lose_no_ticket_and_move_none_twice()
    {
        var random = new Random(20261123);
        var outcomes = new Outcomes();
        await using (var first = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
        {
            using var http = first.CreateClient();
            Assert.True((await http.PutAsJsonAsync("/api/workflows/crash", new { yaml = Workflow })).IsSuccessStatusCode);
            foreach (var agent in Agents)
                Assert.True((await http.PostAsJsonAsync("/api/agents", new { name = agent, driver = "external", capabilities = new[] { "build" } })).IsSuccessStatusCode);
            for (var i = 0; i < Tickets; i++)
                Assert.True((await http.PostAsJsonAsync("/api/tickets", new { title = $"ticket {i}", workflow = "crash" })).IsSuccessStatusCode);
            await first.KillAsync();
        }

        for (var life = 0; life <= Kills; life++)
        {
            await using var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args);
            using var stop = new CancellationTokenSource();
            var working = Agents.Select(a => WorkAsync(host, a, outcomes, stop.Token)).ToList();
            if (life == Kills)
            {
                await HiveInstance.Until(() => Done() == Tickets, TimeSpan.FromSeconds(90), "every ticket done in the last life");
                stop.Cancel();
                await Task.WhenAll(working);
                await host.TerminateAsync(TimeSpan.FromSeconds(20));
                break;
            }
            var before = outcomes.Calls;
            await HiveInstance.Until(() => outcomes.Calls >= before + 4 || Done() == Tickets, TimeSpan.FromSeconds(30), "this life's first calls");
            await Task.Delay(random.Next(5, 250));
            await host.KillAsync();
            stop.Cancel();
            await Task.WhenAll(working);
        }

        Assert.Equal(Tickets, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM tickets"));
        var paths = HiveInstance.QueryDbList<(long Ticket, string Path)>(_dataDir,
            "SELECT ticket_id, group_concat(to_phase, '>') FROM (SELECT ticket_id, to_phase FROM ticket_history ORDER BY id) GROUP BY ticket_id");
        Assert.All(paths, p => Assert.Equal("backlog>build>done", p.Path));
        Assert.Equal(Tickets, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM tickets WHERE json_array_length(context) = 1 AND assignee IS NULL"));
        Assert.Equal("ok", HiveInstance.QueryDb<string>(_dataDir, "PRAGMA integrity_check"));
        Assert.True(outcomes.Submitted + outcomes.AlreadyApplied + outcomes.InDoubt >= Tickets,
            $"submitted {outcomes.Submitted}, already applied {outcomes.AlreadyApplied}, cut off by a kill {outcomes.InDoubt}");
    }

    private long Done() => HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM tickets WHERE phase = 'done'");

    /// <summary>
    /// An agent's loop: finish what it holds (a claim whose reply was lost is found again in the list), else claim a
    /// ticket offered to it or nobody. Ends when its host dies or it is told to stop.
    /// </summary>
    private static async Task WorkAsync(HostProcess host, string agent, Outcomes outcomes, CancellationToken stop)
    {
        try
        {
            await using var client = await host.ConnectAsync(agent);
            while (!stop.IsCancellationRequested)
            {
                var tickets = AgentClient.Ok(await client.CallAsync(new { op = "ticket_list", column = "build" })).GetProperty("tickets").EnumerateArray().ToList();
                var mine = tickets.FirstOrDefault(t => t.GetProperty("assignee").GetString() == agent);
                if (mine.ValueKind == JsonValueKind.Object)
                {
                    var id = mine.GetProperty("id").GetInt64();
                    // A submit whose reply a kill cuts off may have been applied: its ticket is done, and nobody sees it again.
                    Interlocked.Increment(ref outcomes.InDoubt);
                    var reply = await client.CallAsync(new { op = "ticket_submit", id, summary = $"{agent} built {id}" });
                    Interlocked.Decrement(ref outcomes.InDoubt);
                    Interlocked.Increment(ref outcomes.Calls);
                    if (reply.GetProperty("ok").GetBoolean()) Interlocked.Increment(ref outcomes.Submitted);
                    else if (reply.GetProperty("error").GetString()!.Contains("your submission was applied")) Interlocked.Increment(ref outcomes.AlreadyApplied);
                    continue;
                }
                var open = tickets.FirstOrDefault(t => t.GetProperty("assignee").ValueKind == JsonValueKind.Null
                                                       && (t.GetProperty("offered_to").GetString() ?? agent) == agent);
                if (open.ValueKind != JsonValueKind.Object)
                {
                    await Task.Delay(50, stop);
                    continue;
                }
                var claim = await client.CallAsync(new { op = "ticket_claim", id = open.GetProperty("id").GetInt64() });
                Interlocked.Increment(ref outcomes.Calls);
                if (!claim.GetProperty("ok").GetBoolean()) Assert.Equal("conflict", claim.GetProperty("code").GetString());
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException or EndOfStreamException)
        {
            // The host died (or the test stopped it): the next life carries on.
        }
    }

    private sealed class Outcomes
    {
        public int Calls;
        public int Submitted;
        public int AlreadyApplied;
        public int InDoubt;
    }
}
