using Hive.Contracts.Work;
using Hive.Features.Work.Radar;
using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// The conflict radar with a local bare repository: three agents' tickets, two editing the same lines, one another file.
/// The two raise a danger (the API, the snapshot's <c>work.risks</c>) and each owner hears of it once; the third raises
/// nothing; a lease on a path another ticket changes is a warning; a risk that no longer holds clears itself. The rule
/// itself (<see cref="RadarPass"/>) is tested without a host below.
/// </summary>
public sealed class RadarTests
{
    private static readonly string App = string.Concat(Enumerable.Range(1, 30).Select(n => $"line {n}\n"));

    [Fact]
    public async Task Two_tickets_on_the_same_lines_raise_a_danger_both_owners_hear_once_a_third_raises_nothing_and_it_clears()
    {
        await using var repository = LocalRepository.Create(new Dictionary<string, string> { ["src/app.txt"] = App, ["docs/other.txt"] = "other\n" });
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Work:RadarSeconds", "1");
        await hive.PutWorkflowAsync("radar", $"""
            name: radar
            repository: {repository.Path}
            phases:
              - name: backlog
                allowed_transitions: [build]
              - name: build
                needs: [code]
                allowed_transitions: [done]
              - name: done
                terminal: true
            """);
        var agents = new List<(string Name, AgentClient Socket)>();
        foreach (var name in new[] { "ann", "ben", "cat" })
        {
            var agent = await hive.NewAgentAsync(name, "code");
            agents.Add((agent, await hive.ConnectAsync(agent)));
        }
        try
        {
            foreach (var title in new[] { "One", "Two", "Three" }) await hive.NewTicketAsync(new { title, workflow = "radar" });
            var tickets = new List<long>();
            foreach (var (name, socket) in agents)
            {
                var id = OfferedTicket(await NextOfferAsync(socket, 30) ?? throw new Xunit.Sdk.XunitException($"no offer for {name}"));
                Ok(await socket.CallAsync(new { op = "ticket_claim", id }));
                tickets.Add(id);
            }
            var (ann, ben, cat) = (agents[0], agents[1], agents[2]);
            var (annTicket, benTicket, catTicket) = (tickets[0], tickets[1], tickets[2]);

            await CommitAsync(hive, ann.Name, new Dictionary<string, string> { ["src/app.txt"] = App.Replace("line 10\n", "line ten\n") }, "ten");
            await CommitAsync(hive, cat.Name, new Dictionary<string, string> { ["docs/other.txt"] = "another\n" }, "other");
            await CommitAsync(hive, ben.Name, new Dictionary<string, string> { ["src/app.txt"] = App.Replace("line 10\nline 11\n", "line 10 and 11\n") }, "ten and eleven");

            await HiveInstance.Until(() => Open(hive, "level = 'danger'") == 1, TimeSpan.FromSeconds(60), "the danger");
            var risk = Assert.Single(await RisksAsync(hive));
            Assert.Equal((Math.Min(annTicket, benTicket), Math.Max(annTicket, benTicket), ConflictRisk.SameLines, "src/app.txt"),
                (risk.TicketA, risk.TicketB, risk.Reason, string.Join(", ", risk.Files)));
            var snapshot = (await hive.GetJsonAsync("/api/state")).GetProperty("work").GetProperty("risks");
            Assert.Equal(risk.Id, snapshot.EnumerateArray().Single().GetProperty("id").GetInt64());

            // Each owner hears of it once, naming the other ticket and the file; the third ticket's owner hears nothing.
            foreach (var (mine, other, socket) in new[] { (annTicket, benTicket, ann.Socket), (benTicket, annTicket, ben.Socket) })
            {
                var message = await NextOfKindAsync(socket, "conflict_risk");
                Assert.Equal((mine, other, "danger"), (message.GetProperty("ticket_id").GetInt64(), message.GetProperty("other_ticket_id").GetInt64(), message.GetProperty("level").GetString()));
                Assert.Contains("src/app.txt", message.GetProperty("body").GetString());
                Assert.Null(await socket.RecvAsync(0));
            }
            Assert.Null(await cat.Socket.RecvAsync(0));

            // A lease on a file another ticket changes: a warning between the holder's ticket and that one.
            Ok(await cat.Socket.CallAsync(new { op = "lease_acquire", resource = "src/", ttl_seconds = 600 }));
            await HiveInstance.Until(() => Open(hive) == 3, TimeSpan.FromSeconds(60), "the lease's warnings");
            var leased = (await RisksAsync(hive)).Where(r => r.Reason == ConflictRisk.Lease).ToList();
            Assert.All(leased, r => Assert.Equal(ConflictRisk.Warning, r.Level));
            Assert.Equal([annTicket, benTicket], leased.Select(r => r.TicketA == catTicket ? r.TicketB : r.TicketA).Order());
            Ok(await cat.Socket.CallAsync(new { op = "lease_release", resource = "src/" }));

            // Ben takes his change back: the danger no longer holds and clears itself.
            await CommitAsync(hive, ben.Name, new Dictionary<string, string> { ["src/app.txt"] = App }, "undo");
            await HiveInstance.Until(() => Open(hive) == 0, TimeSpan.FromSeconds(60), "every risk cleared");
            Assert.Empty(await RisksAsync(hive));
            Assert.NotNull(hive.QueryDb<string?>("SELECT cleared_at FROM conflict_risks WHERE id = @Id", new { risk.Id }));
        }
        finally
        {
            foreach (var (_, socket) in agents) await socket.DisposeAsync();
        }
    }

    [Fact]
    public void The_rule_finds_overlapping_lines_same_files_and_leases_and_nothing_else()
    {
        static TicketChanges Ticket(long id, string owner, params (string Path, int First, int Last)[] hunks) =>
            new(id, owner, "repo", hunks.GroupBy(h => h.Path).ToDictionary(g => g.Key, g => (IReadOnlyList<(int, int)>)g.Select(h => (h.First, h.Last)).ToList()));
        var found = RadarPass.Find(
        [
            Ticket(1, "ann", ("a.txt", 10, 12)),
            Ticket(2, "ben", ("a.txt", 12, 12)), // overlaps 1 at line 12
            Ticket(3, "cat", ("a.txt", 20, 20)), // same file as 1 and 2, other lines
            Ticket(4, "dan", ("b/c.txt", 1, 1)),
            Ticket(5, "eve", ("z.txt", 1, 1)),
            new TicketChanges(6, "fay", "other-repo", new Dictionary<string, IReadOnlyList<(int, int)>> { ["a.txt"] = [(10, 12)] }),
        ], [("eve", "b/"), ("eve", "b"), ("nobody", "a.txt")]);
        Assert.Equal(
        [
            (1L, 2L, "danger", "same_lines"), (1L, 3L, "warning", "same_file"), (2L, 3L, "warning", "same_file"), (4L, 5L, "warning", "lease"),
        ], found.Select(r => (r.A, r.B, r.Level, r.Reason)));

        var parsed = RadarPass.Parse("""
            diff --git a/x.txt b/x.txt
            --- a/x.txt
            +++ b/x.txt
            @@ -3,2 +3,0 @@
            @@ -7 +6 @@
            @@ -9,0 +9,2 @@
            diff --git a/new.txt b/new.txt
            --- /dev/null
            +++ b/new.txt
            @@ -0,0 +1,3 @@
            """);
        Assert.Equal([(3, 4), (7, 7), (9, 9)], parsed["x.txt"]);
        Assert.Equal([(0, 0)], parsed["new.txt"]);

        // diff-tree --stdin's output, cut per branch asked: an empty diff prints nothing, not even its head.
        var (x, y, z) = (new string('a', 40), new string('b', 40), new string('c', 40));
        var split = RadarPass.SplitDiffTree($"{x}\ndiff --git a/x b/x\n@@ -1 +1 @@\n{z}\ndiff --git a/z b/z\n", [x, y, z]);
        Assert.Equal(("diff --git a/x b/x\n@@ -1 +1 @@\n", ""), (split[0], split[1]));
        Assert.StartsWith("diff --git a/z b/z\n", split[2]);
    }

    private static Task<List<ConflictRisk>> RisksAsync(HiveInstance hive) => hive.GetAsync<List<ConflictRisk>>("/api/conflict-risks");

    /// <summary>The open risks as the table has them (to wait on; the API answers what the test then reads).</summary>
    private static long Open(HiveInstance hive, string where = "1") =>
        hive.QueryDb<long>($"SELECT count(*) FROM conflict_risks WHERE cleared_at IS NULL AND {where}");
}
