using System.Text.RegularExpressions;
using Hive.Tests.Features.TurnStats;

namespace Hive.Tests.Shared;

/// <summary>
/// Every stored time is the wire's text form (<c>yyyy-MM-ddTHH:mm:ss.fffZ</c>), whichever path wrote it (the group-commit
/// writer, a Dapper parameter, a code migration), so times compare as text across rows, columns and features.
/// </summary>
public sealed partial class TimestampFormTests
{
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex WireForm();

    [Fact]
    public async Task Every_time_a_hive_stores_through_its_verbs_and_routes_is_in_the_wire_form()
    {
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"]);
        await using var alice = await hive.ConnectAsync("alice");
        await using var bob = await hive.ConnectAsync("bob");

        await alice.SendAsync("bob", "hello");                                                       // sent_at (writer)
        (await hive.Http.PostAsJsonAsync("/api/messages", new { to = "bob", body = "from the operator" })).EnsureSuccessStatusCode();
        var taken = (await bob.RecvAsync())!.Value;
        await bob.AckAsync(taken.GetProperty("id").GetInt64());                                       // delivered_at
        Assert.NotNull(await bob.RecvAsync());                                                        // in_flight_until (left unacknowledged)
        var asked = AgentClient.Ok(await alice.CallAsync(new { op = "ask", to = "bob", question = "ready?", ttl_seconds = 3600 }));
        AgentClient.Ok(await bob.CallAsync(new { op = "answer", id = asked.GetProperty("id").GetInt64(), answer = "yes" }));
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", to = "bob", question = "still open?", ttl_seconds = 3600 }));
        AgentClient.Ok(await alice.CallAsync(new { op = "remind", body = "later", in_seconds = 3600 })); // due_at, created_at
        await TurnStatsHive.RecordAsync(alice, TurnStatsHive.Turn());                                 // recorded_at, started_at, ended_at
        var carol = await hive.NewAgentAsync("carol");                                               // agents.created_at
        (await hive.Http.DeleteAsync($"/api/agents/{carol}")).EnsureSuccessStatusCode();             // tombstones.destroyed_at

        var seen = new HashSet<string>();
        foreach (var table in hive.QueryDbList<string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"))
        {
            foreach (var column in hive.QueryDbList<string>("SELECT name FROM pragma_table_info(@table)", new { table }))
            {
                if (!column.EndsWith("_at", StringComparison.Ordinal) && !column.EndsWith("_until", StringComparison.Ordinal)) continue;
                var values = hive.QueryDbList<string>($"SELECT DISTINCT CAST(\"{column}\" AS TEXT) FROM \"{table}\" WHERE \"{column}\" IS NOT NULL");
                if (values.Count > 0) seen.Add($"{table}.{column}");
                Assert.All(values, value => Assert.True(WireForm().IsMatch(value), $"{table}.{column} holds '{value}'"));
            }
        }
        // Not vacuous: each path that writes a time wrote one here.
        Assert.Empty(new[]
        {
            "messages.sent_at", "messages.in_flight_until", "messages.delivered_at",
            "questions.asked_at", "questions.answered_at", "questions.expires_at",
            "reminders.due_at", "reminders.created_at",
            "turns.recorded_at", "turns.started_at", "turns.ended_at",
            "agents.created_at", "tombstones.destroyed_at",
        }.Except(seen));
    }
}
