using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>A hive of its own: the shipped workflow is shared by every ticket in it, so no other test's agents may be offered these.</summary>
public sealed class ShippedWorkflowHive : HiveFixture;

/// <summary>
/// Two agents through the shipped workflow, as agents do it, over their sockets: a designer
/// and coder claims (a second claim is a conflict), submits without the expected output (the gate says what is missing),
/// submits with it (the ticket moves on), the review goes to the agent with the review capability, and its approval ends
/// the ticket. History, context and events follow.
/// </summary>
public sealed class TicketFlowTests(ShippedWorkflowHive fixture) : SharedHiveTests(fixture), IClassFixture<ShippedWorkflowHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Two_agents_work_a_ticket_through_design_implement_review_and_done()
    {
        var worker = await _hive.NewAgentAsync("worker", "design", "code");
        var reviewer = await _hive.NewAgentAsync("reviewer", "review");
        await using var w = await _hive.ConnectAsync(worker);
        await using var r = await _hive.ConnectAsync(reviewer);
        await using var events = await _hive.OpenEventsAsync();

        var id = (await _hive.CreateTicketAsync(new { title = "Add a health page", body = "Show the storage state.", priority = 5 })).GetProperty("id").GetInt64();

        // The board pulls it out of the backlog into design and offers it to the one agent that can design.
        var offer = await NextOfferAsync(w) ?? throw new Xunit.Sdk.XunitException("no offer reached the worker");
        Assert.Equal(id, OfferedTicket(offer));
        Assert.Contains("design.md", offer.GetProperty("body").GetString());
        var claimed = Ok(await w.CallAsync(new { op = "ticket_claim", id }));
        Assert.Equal(worker, claimed.GetProperty("ticket").GetProperty("assignee").GetString());
        Assert.Equal("design", claimed.GetProperty("ticket").GetProperty("phase").GetString());
        Assert.Contains(claimed.GetProperty("expected_outputs").EnumerateArray(), o => o.GetProperty("path").GetString() == "design.md");
        // Claiming again is answered as the first claim was; another agent's claim is a conflict naming the holder.
        Assert.Equal(worker, Ok(await w.CallAsync(new { op = "ticket_claim", id })).GetProperty("ticket").GetProperty("assignee").GetString());
        var second = Refused(await r.CallAsync(new { op = "ticket_claim", id }), "conflict");
        Assert.Contains($"held by {worker}", second.GetProperty("error").GetString());

        // Without design.md and the ticks the gate refuses, saying what is missing, and nothing moves.
        var refused = Refused(await w.CallAsync(new { op = "ticket_submit", id, summary = "plan" }), "conflict");
        var missing = refused.GetProperty("errors").GetProperty("missing").EnumerateArray().Select(m => m.GetString()!).ToList();
        Assert.Contains(missing, m => m.StartsWith("file design.md", StringComparison.Ordinal));
        Assert.Contains("not ticked: The approach and its risks are written down", missing);
        Assert.Equal("design", (await _hive.TicketAsync(id)).GetProperty("phase").GetString());
        Assert.Equal(worker, (await _hive.TicketAsync(id)).GetProperty("assignee").GetString());

        // With them it moves on to implement, its summary and outputs handed on as context, and is offered again.
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", worker, "state", "design.md"), "# Plan\nA page.\n");
        var submitted = Ok(await w.CallAsync(new
        {
            op = "ticket_submit", id, summary = "a page reading /healthz", done = new[] { "1", "Open questions are asked or answered" },
            outputs = new[] { new { kind = "file", value = "design.md" } },
        }));
        Assert.True(submitted.GetProperty("moved").GetBoolean());
        Assert.Equal("implement", submitted.GetProperty("ticket").GetProperty("phase").GetString());
        Assert.Null(submitted.GetProperty("ticket").GetProperty("assignee").GetString());
        var context = submitted.GetProperty("ticket").GetProperty("context")[0];
        Assert.Equal(("design", worker, "a page reading /healthz"),
            (context.GetProperty("phase").GetString(), context.GetProperty("by").GetString(), context.GetProperty("summary").GetString()));

        Assert.Equal(id, OfferedTicket(await NextOfferAsync(w) ?? throw new Xunit.Sdk.XunitException("no implement offer")));
        Ok(await w.CallAsync(new { op = "ticket_claim", id }));
        // The reviewer cannot claim implement work: it lacks the capability.
        await using (var other = await _hive.ConnectAsync(reviewer))
            Assert.Equal("conflict", (await other.CallAsync(new { op = "ticket_claim", id })).GetProperty("code").GetString());
        var toReview = Ok(await w.CallAsync(new { op = "ticket_submit", id, summary = "built and tested", done = new[] { "1", "2" } }));
        Assert.Equal("review", toReview.GetProperty("ticket").GetProperty("phase").GetString());

        // The review is a typed question to the agent with the review capability (never its worker).
        var question = await r.RecvAsync(10_000) ?? throw new Xunit.Sdk.XunitException("no review question reached the reviewer");
        await r.AckAsync(question.GetProperty("id").GetInt64());
        var review = (await _hive.TicketAsync(id)).GetProperty("review");
        Assert.Equal(reviewer, review.GetProperty("reviewer").GetString());
        var questionId = review.GetProperty("question_id").GetInt64();
        Ok(await r.CallAsync(new { op = "answer", id = questionId, answer = "approve" }));

        var done = await events.WaitForAsync("ticket_changed", e => e.GetProperty("ticket").GetProperty("id").GetInt64() == id
                                                                     && e.GetProperty("ticket").GetProperty("done").GetBoolean());
        Assert.Equal("done", done.Json.GetProperty("ticket").GetProperty("phase").GetString());
        var detail = await _hive.GetJsonAsync($"/api/tickets/{id}");
        var path = detail.GetProperty("history").EnumerateArray().Select(h => (h.GetProperty("to_phase").GetString(), h.GetProperty("moved_by").GetString())).ToList();
        Assert.Equal([("backlog", "operator"), ("design", "board"), ("implement", worker), ("review", worker), ("done", reviewer)], path);
        var last = detail.GetProperty("history").EnumerateArray().Last().GetProperty("gate");
        Assert.Equal($"approve by {reviewer}", last.GetProperty("review").GetString());
    }
}
