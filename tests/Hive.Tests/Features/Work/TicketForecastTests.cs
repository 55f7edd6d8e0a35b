using System.Net.Http.Json;
using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Contracts.Work;
using static Hive.Tests.Features.Gateway.GatewayKit;
using static Hive.Tests.Features.Work.WorkKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Work;

/// <summary>
/// Cost forecasts at dispatch, as agents and the operator meet them: twenty tickets finished by an agent over its socket,
/// each in a turn whose model call went through the gateway to the fake Messages API (so each ticket's cost is metered,
/// not claimed); a new ticket like five of them is forecast within their range from those five, on its card, its view and
/// the claim's reply; a forecast above what the assignee's daily budget has left asks the operator once, and the ticket
/// starts only with their yes; a "no" leaves it unstarted and says so. The agents' rows show their burn rate.
/// </summary>
public sealed class TicketForecastTests(TicketForecastTests.Fixture fixture) : IClassFixture<TicketForecastTests.Fixture>
{
    /// <summary>USD per input token of the fake model's price (<see cref="Provider"/>: $1000 a million).</summary>
    private const double PerToken = 1000 / 1e6;

    /// <summary>The hive, the fake model, one workflow, its worker, and the twenty finished tickets (made once for the class).</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly string _key = NewKey();

        public FakeMessagesApi Model { get; private set; } = null!;
        public HiveInstance Hive { get; private set; } = null!;
        public string Token { get; } = $"zq{Guid.NewGuid().ToString("N")[..8]}";
        public string Workflow { get; private set; } = "";
        public string Worker { get; private set; } = "";

        /// <summary>The five finished tickets like the new one: their ids and their metered costs.</summary>
        public List<(long Id, double Cost)> Alike { get; } = [];

        public List<(long Id, double Cost)> Others { get; } = [];

        public async Task InitializeAsync()
        {
            Model = await FakeMessagesApi.StartAsync(_key);
            Hive = await HiveInstance.StartAsync([], [.. Provider(Model.BaseUrl), "--Hive:Governance:LoopTurns", "0"]);
            using (var saved = await Hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key }))
                Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
            (Workflow, var capability) = await NewWorkflowAsync(Hive);
            Worker = await NewWorkerAsync(Hive, "worker", capability);

            // Five parser tickets of $0.20-$0.40, and fifteen of other work of $2-$5: a forecast that leaked one of them would show.
            string[] alike = ["Speed up the {0} parser on large inputs", "The {0} parser is slow on deeply nested input", "Profile the {0} parser's tokenizer",
                "Cut allocations in the {0} parser", "Cache the {0} parser's lookahead tables"];
            for (var i = 0; i < alike.Length; i++)
            {
                var tokens = 200 + (i * 50);
                Alike.Add((await FinishAsync(Hive, Model, Worker, Workflow, string.Format(alike[i], Token), "Large inputs take seconds to parse.", tokens, i % 2 == 0),
                    tokens * PerToken));
            }
            string[] others = ["Rotate the log archive weekly", "Draw a latency chart", "Translate the settings page into German", "Upgrade the TLS library",
                "Write the onboarding guide", "Add dark mode to the dashboard", "Migrate the billing database", "Rename the mobile app's icons",
                "Fix the flaky login e-mail", "Add CSV export to reports", "Shrink the container image", "Document the REST endpoints",
                "Add a retry to webhook delivery", "Rework the pricing table copy", "Audit the npm dependencies"];
            for (var i = 0; i < others.Length; i++)
            {
                var tokens = 2000 + (i * 200);
                Others.Add((await FinishAsync(Hive, Model, Worker, Workflow, others[i], "Routine upkeep.", tokens, i % 2 == 1), tokens * PerToken));
            }
        }

        public async Task DisposeAsync()
        {
            await Hive.DisposeAsync();
            await Model.DisposeAsync();
        }
    }

    private readonly Fixture _fixture = fixture;
    private HiveInstance Hive => _fixture.Hive;

    /// <summary>backlog → build (worked by its own capability, a note expected) → done; its name and capability.</summary>
    private static async Task<(string Name, string Capability)> NewWorkflowAsync(HiveInstance hive)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (name, capability) = ($"wf_{suffix}", $"cap-{suffix}");
        await hive.PutWorkflowAsync(name, $"""
            name: {name}
            phases:
              - name: backlog
                allowed_transitions: [build]
              - name: build
                needs: [{capability}]
                wip_limit: 5
                expected_outputs:
                  - kind: note
                allowed_transitions: [done]
              - name: done
                terminal: true
            """);
        return (name, capability);
    }

    /// <summary>An agent of the process driver (so it is up, and has its door to the gateway) with <paramref name="capability"/>.</summary>
    private static async Task<string> NewWorkerAsync(HiveInstance hive, string name, string capability)
    {
        var unique = $"{name}-{Guid.NewGuid().ToString("N")[..6]}";
        using var created = await hive.Http.PostAsJsonAsync("/api/agents", new
        { name = unique, driver = "process", provider = "anthropic", command = new[] { "/bin/sh", "-c", "exec sleep 1000000" }, capabilities = new[] { capability } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return unique;
    }

    /// <summary>
    /// A new ticket offered to <paramref name="agent"/>, claimed, worked in a turn with one model call of
    /// <paramref name="inputTokens"/> (its turn asked for before the claim, or after it), submitted; its turn ends with
    /// the connection. Waits for its outcome's metered cost; the ticket's id.
    /// </summary>
    private static async Task<long> FinishAsync(HiveInstance hive, FakeMessagesApi model, string agent, string workflow, string title, string body,
        int inputTokens, bool turnFirst)
    {
        var id = await hive.NewTicketAsync(new { title, body, workflow });
        long turn;
        await using (var worker = await hive.ConnectAsync(agent))
        {
            Assert.Equal(id, OfferedTicket(await NextOfferAsync(worker, 30) ?? throw new Xunit.Sdk.XunitException($"no offer of ticket {id}")));
            turn = turnFirst ? await BeginTurnAsync(worker) : 0;
            await worker.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
            if (!turnFirst) turn = await BeginTurnAsync(worker);
            await CallModelAsync(hive, model, agent, inputTokens);
            var submitted = await worker.CallAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(id, [new OutputValue("note", "done")], $"Did: {title}", null, null));
            Assert.True(submitted.Ticket.Done, $"ticket {id} is in {submitted.Ticket.Phase}");
        }
        // Its turn ends with the connection (not at once): the next ticket's claim must not fall in it.
        await Governance.GovernanceHive.UntilTurnEndedAsync(hive, turn);
        await HiveInstance.Until(() => hive.QueryDb<double?>("SELECT cost_usd FROM ticket_outcomes WHERE ticket_id = @id", new { id }) is { } cost
            && Math.Abs(cost - (inputTokens * PerToken)) < 1e-9, TimeSpan.FromSeconds(30), $"ticket {id}'s metered cost");
        return id;
    }

    private static async Task SubmitAsync(AgentClient worker, long id) =>
        Assert.True((await worker.CallAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(id, [new OutputValue("note", "done")], null, null, null))).Ticket.Done);

    private static async Task<long> BeginTurnAsync(AgentClient worker) =>
        (await worker.CallAsync(GovernanceVerbs.BeginTurn, new BeginTurnArgs(10_000))).TurnId ?? throw new Xunit.Sdk.XunitException("no turn granted");

    private static async Task CallModelAsync(HiveInstance hive, FakeMessagesApi model, string agent, int inputTokens)
    {
        model.Enqueue(ModelReply.Text("Done.", new FakeMessagesApi.Usage(inputTokens, 0)));
        using var door = Door(hive, agent);
        using var response = await door.PostAsync("/v1/messages", MessagesBody());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("message_stop", await response.Content.ReadAsStringAsync());
    }

    private string AlikeTitle(string words) => $"{words} {_fixture.Token} parser";

    private List<long> QuestionsAbout(long ticket) =>
        Hive.QueryDbList<long>("SELECT id FROM questions WHERE asker = 'hive' AND question LIKE @like", new { like = $"Ticket #{ticket} %" });

    private async Task<TicketForecast> ForecastOfAsync(long id)
    {
        TicketForecast? forecast = null;
        await HiveInstance.UntilAsync(async () => (forecast = (await Hive.TicketViewAsync(id)).Forecast) is not null, TimeSpan.FromSeconds(30), $"ticket {id}'s forecast");
        return forecast!;
    }

    [Fact]
    public async Task A_new_ticket_like_five_finished_ones_is_forecast_within_their_range_and_an_agent_without_a_budget_is_not_asked()
    {
        // Each finished ticket's cost is what the gateway metered for its turn.
        foreach (var (id, cost) in _fixture.Alike.Concat(_fixture.Others))
            Assert.Equal(cost, Hive.QueryDb<double>("SELECT cost_usd FROM ticket_outcomes WHERE ticket_id = @id", new { id }), 9);

        var id2 = await Hive.NewTicketAsync(new { title = AlikeTitle("Make parsing faster in the"), body = "Large inputs take seconds to parse.", workflow = _fixture.Workflow });
        await using var worker = await Hive.ConnectAsync(_fixture.Worker);
        Assert.Equal(id2, OfferedTicket(await NextOfferAsync(worker, 30) ?? throw new Xunit.Sdk.XunitException("no offer")));

        var (low, high) = (_fixture.Alike.Min(a => a.Cost), _fixture.Alike.Max(a => a.Cost));
        var offered = await ForecastOfAsync(id2);
        Assert.Equal(5, offered.Basis);
        Assert.InRange(offered.P50Usd!.Value, low, high);
        Assert.InRange(offered.P90Usd!.Value, offered.P50Usd.Value, high);
        Assert.EndsWith("from 5 tickets", offered.Text);
        Assert.StartsWith("≈ $", offered.Text);

        // The board's card shows it, and the claim's reply.
        var card = (await Hive.GetJsonAsync("/api/state")).GetProperty("work").GetProperty("tickets").EnumerateArray()
            .Single(t => t.GetProperty("id").GetInt64() == id2).GetProperty("forecast");
        Assert.Equal(offered.Text, card.GetProperty("text").GetString());
        var claimed = await worker.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id2));
        Assert.Equal((5, offered.P50Usd, offered.P90Usd), (claimed.Ticket.Forecast!.Basis, claimed.Ticket.Forecast.P50Usd, claimed.Ticket.Forecast.P90Usd));
        Assert.Empty(QuestionsAbout(id2)); // the worker has no daily budget: nothing to ask
        await SubmitAsync(worker, id2); // done without a turn: no known cost, so no forecast rests on it

        // Its row: the last hour's spend as a rate, and (no budget) no time it runs out; with a budget, when at that rate it does.
        var row = await AgentRowAsync(_fixture.Worker);
        var spent = _fixture.Alike.Concat(_fixture.Others).Sum(a => a.Cost);
        Assert.Equal(spent, row.GetProperty("burn_usd_per_hour").GetDouble(), 6);
        Assert.Equal(JsonValueKind.Null, row.GetProperty("budget_runs_out_at").ValueKind);
        var today = row.GetProperty("spend_today_usd").GetDouble();
        using (var set = await Hive.Http.PutAsJsonAsync($"/api/governance/budgets/{_fixture.Worker}", new { daily_usd = Math.Round(today + 1, 2) })) set.EnsureSuccessStatusCode();
        var before = DateTimeOffset.UtcNow;
        row = await AgentRowAsync(_fixture.Worker);
        var hours = (Math.Round(today + 1, 2) - row.GetProperty("spend_today_usd").GetDouble()) / row.GetProperty("burn_usd_per_hour").GetDouble();
        var expected = before + TimeSpan.FromHours(hours);
        if (expected.UtcDateTime.Date == before.UtcDateTime.Date) // past midnight the day's budget is whole again: none then
            Assert.InRange(row.GetProperty("budget_runs_out_at").GetDateTimeOffset(), expected.AddSeconds(-1), DateTimeOffset.UtcNow + TimeSpan.FromHours(hours) + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_forecast_above_the_budget_left_asks_the_operator_once_and_their_yes_starts_the_ticket()
    {
        var (workflow, capability) = await NewWorkflowAsync(Hive);
        var spender = await NewWorkerAsync(Hive, "spender", capability);
        using (var set = await Hive.Http.PutAsJsonAsync($"/api/governance/budgets/{spender}", new { daily_usd = 0.1 })) set.EnsureSuccessStatusCode();
        await using var agent = await Hive.ConnectAsync(spender);
        var id = await Hive.NewTicketAsync(new { title = AlikeTitle("Parse large inputs faster in the"), body = "Large inputs take seconds to parse.", workflow });

        await HiveInstance.Until(() => QuestionsAbout(id).Count == 1, TimeSpan.FromSeconds(30), $"the question about ticket {id}");
        var forecast = await ForecastOfAsync(id);
        Assert.True(forecast.P90Usd > 0.1, $"P90 {forecast.P90Usd}");
        Assert.Equal(QuestionsAbout(id).Single(), forecast.QuestionId);
        var asked = Hive.QueryDb<string>("SELECT question FROM questions WHERE id = @id", new { id = forecast.QuestionId });
        Assert.Contains(spender, asked);
        Assert.Contains("$0.10 of its $0.10 daily budget left", asked);

        // Not offered; claimed twice, refused twice naming both figures; the board's next round (it offers the worker a
        // ticket after this one) asks nothing more.
        Assert.Null(await NextOfferAsync(agent, 0));
        for (var i = 0; i < 2; i++)
        {
            var refused = await agent.RefusalOfAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
            Assert.Equal("conflict", refused.Code);
            Assert.Contains($"up to ${forecast.P90Usd!.Value.ToString("0.00##", System.Globalization.CultureInfo.InvariantCulture)} (P90", refused.Error);
            Assert.Contains($"{spender}'s daily budget has $0.10 left", refused.Error);
            Assert.Contains($"question {forecast.QuestionId}", refused.Error);
        }
        var later = await Hive.NewTicketAsync(new { title = $"Quince {Guid.NewGuid():N} marmalade", workflow = _fixture.Workflow });
        await using (var worker = await Hive.ConnectAsync(_fixture.Worker))
        {
            Assert.Equal(later, OfferedTicket(await NextOfferAsync(worker, 30) ?? throw new Xunit.Sdk.XunitException("no offer")));
            await worker.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(later));
            await SubmitAsync(worker, later);
        }
        Assert.Single(QuestionsAbout(id));
        Assert.Null((await Hive.TicketViewAsync(id)).Assignee);

        using (var yes = await Hive.Http.PostAsJsonAsync($"/api/questions/{forecast.QuestionId}/answer", new { answer = "start it" })) yes.EnsureSuccessStatusCode();
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(agent, 30) ?? throw new Xunit.Sdk.XunitException("no offer after yes")));
        var claimed = await agent.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
        Assert.Equal((spender, "yes"), (claimed.Ticket.Assignee, claimed.Ticket.Forecast!.Decision));
        Assert.Contains(claimed.Notes, n => n.Text.Contains($"said yes to its forecast (question {forecast.QuestionId})", StringComparison.Ordinal));
        Assert.Single(QuestionsAbout(id));
    }

    [Fact]
    public async Task The_operators_no_leaves_the_ticket_unstarted_and_its_notes_say_so()
    {
        var (workflow, capability) = await NewWorkflowAsync(Hive);
        var saver = await NewWorkerAsync(Hive, "saver", capability);
        using (var set = await Hive.Http.PutAsJsonAsync($"/api/governance/budgets/{saver}", new { daily_usd = 0.05 })) set.EnsureSuccessStatusCode();
        await using var agent = await Hive.ConnectAsync(saver);
        var id = await Hive.NewTicketAsync(new { title = AlikeTitle("Trim the lookahead of the"), body = "Large inputs take seconds to parse.", workflow });
        await HiveInstance.Until(() => QuestionsAbout(id).Count == 1, TimeSpan.FromSeconds(30), $"the question about ticket {id}");

        using (var no = await Hive.Http.PostAsJsonAsync($"/api/questions/{QuestionsAbout(id).Single()}/answer", new { answer = "leave it unstarted" })) no.EnsureSuccessStatusCode();
        await HiveInstance.UntilAsync(async () => (await Hive.TicketViewAsync(id)).Forecast?.Decision == "no", TimeSpan.FromSeconds(30), "the no");
        var refused = await agent.RefusalOfAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
        Assert.Equal("conflict", refused.Code);
        Assert.Contains("the operator said no to starting it", refused.Error);
        var detail = await Hive.DetailAsync(id);
        Assert.Contains(detail.Notes, n => n.Text.StartsWith("not started: operator answered \"leave it unstarted\"", StringComparison.Ordinal));
        Assert.Null(detail.Ticket.Assignee);
        Assert.Equal("build", detail.Ticket.Phase);
        Assert.Single(QuestionsAbout(id));
    }

    [Fact]
    public async Task A_ticket_like_no_finished_one_has_no_forecast_and_says_so()
    {
        var (workflow, capability) = await NewWorkflowAsync(Hive);
        var newcomer = await NewWorkerAsync(Hive, "newcomer", capability);
        using (var set = await Hive.Http.PutAsJsonAsync($"/api/governance/budgets/{newcomer}", new { daily_usd = 0.01 })) set.EnsureSuccessStatusCode();
        await using var agent = await Hive.ConnectAsync(newcomer);
        var id = await Hive.NewTicketAsync(new { title = $"Xylophone {Guid.NewGuid():N} quokka", workflow });

        Assert.Equal(id, OfferedTicket(await NextOfferAsync(agent, 30) ?? throw new Xunit.Sdk.XunitException("no offer")));
        var forecast = (await Hive.TicketViewAsync(id)).Forecast!;
        Assert.Equal((0, (double?)null, (double?)null), (forecast.Basis, forecast.P50Usd, forecast.P90Usd));
        Assert.Equal("no forecast: no finished ticket like it has a known cost", forecast.Text);
        Assert.Empty(QuestionsAbout(id)); // nothing to weigh against its budget
        Assert.Equal(newcomer, (await agent.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id))).Ticket.Assignee);
    }

    private async Task<JsonElement> AgentRowAsync(string name) =>
        (await Hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);
}
