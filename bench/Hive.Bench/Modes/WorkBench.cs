using System.Diagnostics;
using System.Globalization;
using Hive.Bench.Infrastructure;
using Hive.Features.Containers;
using Hive.Features.Work;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The work layer's dispatch figure: from a freed WIP slot to the next ticket's offer, with 1 000 tickets on the board. A
/// workflow backlog → build (WIP 8, needs <c>build</c>) → done; eight agents with that capability; 1 000 tickets. Each
/// agent holds one offer, so when one agent submits its ticket (which leaves build) the only idle agent is that one, and
/// the board pulls the next ticket out of the backlog and offers it to it. Per cycle (<c>--reps</c>): claim, submit, then
/// <c>recv</c> until the offer. Two figures: <i>seen</i> = the submit's reply (the slot was freed by then) → the offer read
/// by the agent; <i>stamped</i> = the move's <c>moved_at</c> → the offer's <c>sent_at</c> (both the host's clock).
/// </summary>
internal sealed class WorkBench : IBenchMode
{
    public string Name => "work";
    public string Summary => "the board: a freed WIP slot -> the next ticket's offer, with 1000 tickets";

    private const int Tickets = 1000;
    private const int Slots = 8;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("work");
        PrintHeader("Hive work-layer dispatch benchmark (issue 31)", root);
        var cycles = Math.Min(options.Reps, Tickets - Slots);
        Console.WriteLine($"{Tickets} tickets, WIP {Slots}, {Slots} agents, {cycles} cycles of claim -> submit -> next offer");
        try
        {
            await using var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "hive"), [],
                ["--Logging:LogLevel:Microsoft.AspNetCore", "Error", "--Logging:LogLevel:Hive", "Warning", "--Hive:Work:OfferSeconds", "86400"]);
            var mediator = hive.Service<MediatR.IMediator>();
            await mediator.Send(new PutWorkflow.Command("bench", """
                name: bench
                phases:
                  - name: backlog
                    allowed_transitions: [build]
                  - name: build
                    needs: [build]
                    wip_limit: 8
                    expected_outputs:
                      - kind: note
                    allowed_transitions: [done]
                  - name: done
                    terminal: true
                """));
            var agents = new List<(string Name, AgentClient Client)>();
            for (var i = 0; i < Slots; i++)
            {
                var name = $"b{i}";
                await mediator.Send(new CreateAgent.Command(name, null, Driver: "external", Capabilities: ["build"]));
                agents.Add((name, await hive.ConnectAsync(name)));
            }
            var created = Stopwatch.StartNew();
            for (var i = 0; i < Tickets; i++) await mediator.Send(new CreateTicket.Command("operator", $"ticket {i}", Workflow: "bench", Priority: i % 7));
            Console.WriteLine($"created {Tickets} tickets in {Stats.F(created.Elapsed.TotalSeconds, 1)} s");

            var offers = new Dictionary<string, long>();
            foreach (var (name, client) in agents) offers[name] = await NextOfferAsync(client);
            var seen = new List<double>();
            var stamped = new List<double>();
            for (var cycle = 0; cycle < cycles; cycle++)
            {
                var (name, client) = agents[cycle % Slots];
                var ticket = offers[name];
                AgentClient.Ok(await client.CallAsync(new { op = "ticket_claim", id = ticket }));
                AgentClient.Ok(await client.CallAsync(new { op = "ticket_submit", id = ticket, summary = "done" }));
                var freed = Stopwatch.GetTimestamp();
                offers[name] = await NextOfferAsync(client);
                seen.Add(Stats.Ms(Stopwatch.GetTimestamp() - freed));
                var movedAt = hive.QueryDb<string>("SELECT moved_at FROM ticket_history WHERE ticket_id = @ticket AND to_phase = 'done'", new { ticket });
                var sentAt = hive.QueryDb<string>("SELECT sent_at FROM messages WHERE kind = 'ticket_offer' AND recipient = @name ORDER BY id DESC LIMIT 1", new { name });
                stamped.Add((Parse(sentAt) - Parse(movedAt)).TotalMilliseconds);
            }
            foreach (var (_, client) in agents) await client.DisposeAsync();
            var backlog = hive.QueryDb<long>("SELECT count(*) FROM tickets WHERE phase = 'backlog'");
            Console.WriteLine($"freed slot -> offer read by the agent (seen):     {Latency.Of(seen)}");
            Console.WriteLine($"freed slot -> offer sent_at (stamped, ms text):   {Latency.Of(stamped)}");
            Console.WriteLine($"tickets left in the backlog at the end: {backlog}; load average at end: {LoadAverage()}");
            return 0;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>Reads messages until an offer; acknowledges each. The offered ticket's id.</summary>
    private static async Task<long> NextOfferAsync(AgentClient client)
    {
        while (true)
        {
            var message = await client.RecvAsync(30_000) ?? throw new TimeoutException("no offer within 30 s");
            await client.AckAsync(message.GetProperty("id").GetInt64());
            if (message.GetProperty("kind").GetString() == "ticket_offer") return message.GetProperty("ticket_id").GetInt64();
        }
    }

    private static DateTimeOffset Parse(string stamp) =>
        DateTimeOffset.Parse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
