using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Questions;
using Hive.Contracts.Work;
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

        var id = await _hive.NewTicketAsync(new { title = "Add a health page", body = "Show the storage state.", priority = 5 });

        // The board pulls it out of the backlog into design and offers it to the one agent that can design.
        var offer = await NextOfferAsync(w) ?? throw new Xunit.Sdk.XunitException("no offer reached the worker");
        Assert.Equal(id, OfferedTicket(offer));
        Assert.Contains("design.md", offer.Deserialize<MessageView>(HiveJson.Options)!.Body);
        var claimed = await w.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
        Assert.Equal(worker, claimed.Ticket.Assignee);
        Assert.Equal("design", claimed.Ticket.Phase);
        Assert.Contains(claimed.ExpectedOutputs, o => o.Path == "design.md");
        // Claiming again is answered as the first claim was; another agent's claim is a conflict naming the holder.
        Assert.Equal(worker, (await w.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id))).Ticket.Assignee);
        var second = await r.RefusalOfAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
        Assert.Equal("conflict", second.Code);
        Assert.Contains($"held by {worker}", second.Error);

        // Without design.md and the ticks the gate refuses, saying what is missing, and nothing moves (the refusal's
        // errors, raw: a refusal's record carries only its error and code).
        var refused = Refused(await w.CallAsync(new { op = "ticket_submit", id, summary = "plan" }), "conflict");
        var missing = refused.GetProperty("errors").GetProperty("missing").EnumerateArray().Select(m => m.GetString()!).ToList();
        Assert.Contains(missing, m => m.StartsWith("file design.md", StringComparison.Ordinal));
        Assert.Contains("not ticked: The approach and its risks are written down", missing);
        Assert.Equal("design", (await _hive.TicketViewAsync(id)).Phase);
        Assert.Equal(worker, (await _hive.TicketViewAsync(id)).Assignee);

        // With them it moves on to implement, its summary and outputs handed on as context, and is offered again.
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", worker, "state", "design.md"), "# Plan\nA page.\n");
        var submitted = await w.CallAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(id, [new OutputValue("file", "design.md")],
            "a page reading /healthz", ["1", "Open questions are asked or answered"], null));
        Assert.True(submitted.Moved);
        Assert.Equal("implement", submitted.Ticket.Phase);
        Assert.Null(submitted.Ticket.Assignee);
        var context = submitted.Ticket.Context[0];
        Assert.Equal(("design", worker, "a page reading /healthz"), (context.Phase, context.By, context.Summary));

        Assert.Equal(id, OfferedTicket(await NextOfferAsync(w) ?? throw new Xunit.Sdk.XunitException("no implement offer")));
        await w.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
        // The reviewer cannot claim implement work: it lacks the capability.
        await using (var other = await _hive.ConnectAsync(reviewer))
            Assert.Equal("conflict", (await other.RefusalOfAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id))).Code);
        var toReview = await w.CallAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(id, null, "built and tested", ["1", "2"], null));
        Assert.Equal("review", toReview.Ticket.Phase);

        // The review is a typed question to the agent with the review capability (never its worker).
        await NextMessageAsync(r, 10_000, "no review question reached the reviewer");
        var review = (await _hive.TicketViewAsync(id)).Review!;
        Assert.Equal(reviewer, review.Reviewer);
        await r.CallAsync(QuestionVerbs.Answer, new AnswerArgs(review.QuestionId, "approve"));

        var done = await events.WaitForPayloadAsync<TicketChangedPayload>("ticket_changed", e => e.Ticket.Id == id && e.Ticket.Done);
        Assert.Equal("done", done.Ticket.Phase);
        var detail = await _hive.DetailAsync(id);
        var path = detail.History.Select(h => (h.ToPhase, h.MovedBy)).ToList();
        Assert.Equal([("backlog", "operator"), ("design", "board"), ("implement", worker), ("review", worker), ("done", reviewer)], path);
        Assert.Equal($"approve by {reviewer}", detail.History.Last().Gate!.Review);
    }
}
