using Hive.Contracts.Work;
using Hive.Features.Work;

namespace Hive.Tests.Features.Work;

/// <summary>
/// The move rule without a host: a small workflow (backlog → build (gated, WIP 1) → review (reviewed) → done, and a
/// blocked side phase), tickets made as rows, and the facts a handler would load.
/// </summary>
public sealed class TicketMoveRuleTests
{
    private static readonly Workflow Flow = new("w", null, null,
    [
        Phase("backlog", ["build"]),
        Phase("build", ["review", "backlog"]) with { Needs = ["code"], WipLimit = 1, DoneDefinition = ["tests pass"] },
        Phase("review", ["done", "build"]) with { ReviewedBy = "review" },
        Phase("done", []) with { Terminal = true },
        Phase("blocked", []) with { Side = true },
    ]);

    private static readonly MoveFacts Free = new(0, []);

    [Fact]
    public void The_operator_moves_a_ticket_where_its_phase_allows()
    {
        Assert.Equal(new MoveVerdict.Move(null), Check(Ticket("backlog"), "build", MoveKind.Operator, Free));
        Assert.Equal(new MoveVerdict.Move(null), Check(Ticket("build"), "backlog", MoveKind.Operator, Free)); // back: no gate
        Assert.IsType<MoveVerdict.Stay>(Check(Ticket("build"), "build", MoveKind.Operator, Free));
    }

    [Fact]
    public void The_operator_is_refused_a_move_its_phase_does_not_allow()
    {
        Assert.Equal("backlog moves only to build", Refused(Check(Ticket("backlog"), "done", MoveKind.Operator, Free)));
        Assert.Equal("done moves only to nothing (it is terminal)", Refused(Check(Ticket("done"), "backlog", MoveKind.Operator, Free)));
    }

    [Fact]
    public void The_side_phase_is_not_a_column()
    {
        Assert.Equal("blocked is where an agent's question puts a ticket (ticket_block), not a column",
            Refused(Check(Ticket("backlog"), "blocked", MoveKind.Operator, Free)));
        Assert.Equal("build moves on to review or backlog, not blocked",
            Refused(Check(Ticket("build", assignee: "alice"), "blocked", MoveKind.Submit, Free with { Gate = GateResult.Open }, asked: "blocked")));
        Assert.Equal(new MoveVerdict.Move(null), Check(Ticket("build", assignee: "alice"), "blocked", MoveKind.Block, Free));
    }

    [Fact]
    public void A_blocked_ticket_moves_only_when_its_question_is_answered()
    {
        var blocked = Ticket("blocked", resume: "build") with { BlockedQuestionId = 9 };
        Assert.Equal("ticket 1 is blocked on question 9: answer it first", Refused(Check(blocked, "review", MoveKind.Operator, Free)));
        Assert.Equal("ticket 1 is blocked on question 9: it can move once that is answered",
            Refused(Check(blocked, "review", MoveKind.Submit, Free with { Gate = GateResult.Open })));
        Assert.Equal("ticket 1 is blocked on question 9: it can move once that is answered", Refused(Check(blocked, "blocked", MoveKind.Block, Free)));
        Assert.IsType<MoveVerdict.Refuse>(Check(blocked, "build", MoveKind.Board, Free));
        Assert.Equal(new MoveVerdict.Move(null), TicketMoveRule.Check(Flow, blocked, null, MoveKind.Answer, "operator", MoveFacts.None));
        Assert.Equal("ticket 1 is not blocked", Refused(TicketMoveRule.Check(Flow, Ticket("build"), null, MoveKind.Answer, "operator", MoveFacts.None)));
    }

    [Fact]
    public void A_full_column_refuses_the_operator_and_the_board_and_queues_a_submission_or_a_review()
    {
        var full = new MoveFacts(1, []);
        Assert.Equal("build is at its WIP limit (1): it takes another ticket when one leaves", Refused(Check(Ticket("backlog"), "build", MoveKind.Operator, full)));
        Assert.Equal("build is at its WIP limit (1): it takes another ticket when one leaves", Refused(Check(Ticket("backlog"), "build", MoveKind.Board, full)));
        Assert.Equal(new MoveVerdict.Queue(null), Check(Ticket("review"), "build", MoveKind.Review, full));
        Assert.Equal(new MoveVerdict.Move(null), Check(Ticket("review"), "build", MoveKind.Review, Free));
        Assert.Equal(new MoveVerdict.Move(GateResult.Open), Check(Ticket("backlog"), "build", MoveKind.Board, Free));
    }

    [Fact]
    public void A_dependency_not_done_holds_a_ticket_back_from_going_forward()
    {
        var waiting = new MoveFacts(0, [4, 5]);
        Assert.Equal("ticket 1 waits for tickets 4, 5 to be done", Refused(Check(Ticket("backlog"), "build", MoveKind.Operator, waiting)));
        Assert.Equal(new MoveVerdict.Move(null), Check(Ticket("build"), "backlog", MoveKind.Operator, waiting)); // back: free to go
        Assert.Equal("ticket 1 waits for ticket 4 to be done", Refused(Check(Ticket("backlog"), "build", MoveKind.Board, new MoveFacts(0, [4]))));

        var submitted = Refuse(Check(Ticket("build", assignee: "alice"), "review", MoveKind.Submit, waiting with { Gate = GateResult.Open }));
        Assert.Equal("the gate of build refuses ticket 1: waits for tickets 4, 5 to be done", submitted.Reason);
        Assert.Equal(["waits for tickets 4, 5 to be done"], submitted.Missing);

        // An approved review waits for the dependencies at the end, not before it.
        Assert.Equal(new MoveVerdict.Queue(GateResult.Open), Check(Ticket("review"), "done", MoveKind.Review, waiting with { Gate = GateResult.Open }));
        Assert.Equal(new MoveVerdict.Move(GateResult.Open), Check(Ticket("review"), "done", MoveKind.Review, Free with { Gate = GateResult.Open }));
    }

    [Fact]
    public void A_gated_phase_asks_its_gate_and_moves_only_when_it_passes()
    {
        var holder = Ticket("build", assignee: "alice");
        Assert.IsType<MoveVerdict.AskGate>(Check(holder, "review", MoveKind.Operator, Free));
        Assert.IsType<MoveVerdict.AskGate>(Check(holder, "review", MoveKind.Submit, Free));

        var missing = new GateResult(false, ["not ticked: tests pass"]);
        var byOperator = Refuse(Check(holder, "review", MoveKind.Operator, Free with { Gate = missing }));
        Assert.Equal("the gate of build refuses: not ticked: tests pass", byOperator.Reason);
        Assert.Equal(["not ticked: tests pass"], byOperator.Missing);
        Assert.Equal("the gate of build refuses ticket 1: not ticked: tests pass", Refused(Check(holder, "review", MoveKind.Submit, Free with { Gate = missing })));

        var passed = new GateResult(true, []);
        Assert.Equal(new MoveVerdict.Move(passed), Check(holder, "review", MoveKind.Operator, Free with { Gate = passed }));
        Assert.Equal(new MoveVerdict.Move(passed), Check(holder, "review", MoveKind.Submit, Free with { Gate = passed }));
    }

    [Fact]
    public void A_submission_that_passed_waits_for_room_in_a_full_column()
    {
        var flow = Flow with { Phases = [.. Flow.Phases.Select(p => p.Name == "review" ? p with { WipLimit = 2 } : p)] };
        var passed = new GateResult(true, []);
        var verdict = TicketMoveRule.Check(flow, Ticket("build", assignee: "alice"), flow.Find("review"), MoveKind.Submit, "alice", new MoveFacts(2, [], passed));
        Assert.Equal(new MoveVerdict.Queue(passed), verdict);
        Assert.Equal(new MoveVerdict.Move(passed),
            TicketMoveRule.Check(flow, Ticket("build", assignee: "alice"), flow.Find("review"), MoveKind.Submit, "alice", new MoveFacts(1, [], passed)));
    }

    [Fact]
    public void Out_of_a_reviewed_phase_the_operators_move_is_the_review()
    {
        foreach (var to in new[] { "done", "build" })
        {
            var gate = Assert.IsType<MoveVerdict.Move>(Check(Ticket("review"), to, MoveKind.Operator, Free)).Gate!;
            Assert.True(gate.Passed);
            Assert.Empty(gate.Missing);
            Assert.Equal("moved by operator", gate.Review);
        }
    }

    [Fact]
    public void A_submission_goes_to_its_phases_first_move_unless_it_names_another()
    {
        Assert.Equal("build moves on to review or backlog", Refused(TicketMoveRule.Check(Flow, Ticket("build", assignee: "alice"), null, MoveKind.Submit, "alice", Free)));
        Assert.Equal("build moves on to review or backlog, not done",
            Refused(Check(Ticket("build", assignee: "alice"), "done", MoveKind.Submit, Free with { Gate = GateResult.Open }, asked: "done")));
    }

    [Fact]
    public void From_a_phase_the_workflow_dropped_the_operator_takes_a_ticket_to_any_column_with_room()
    {
        var orphan = Ticket("gone");
        Assert.Equal(new MoveVerdict.Move(null), Check(orphan, "review", MoveKind.Operator, Free));
        Assert.Equal("build is at its WIP limit (1): it takes another ticket when one leaves", Refused(Check(orphan, "build", MoveKind.Operator, new MoveFacts(1, []))));
        Assert.Equal("ticket 1 is in w/gone, which the workflow in force does not have: the operator moves it",
            Refused(Check(orphan, "review", MoveKind.Submit, Free with { Gate = GateResult.Open })));
    }

    [Fact]
    public void A_workflow_without_a_side_phase_cannot_block()
    {
        var flow = Flow with { Phases = [.. Flow.Phases.Where(p => !p.Side)] };
        Assert.Equal("workflow w has no side phase to block a ticket in",
            Refused(TicketMoveRule.Check(flow, Ticket("build", assignee: "alice"), flow.SidePhase, MoveKind.Block, "alice", Free)));
    }

    private static MoveVerdict Check(TicketRow ticket, string to, MoveKind kind, MoveFacts facts, string? asked = null) =>
        TicketMoveRule.Check(Flow, ticket, Flow.Find(to), kind, kind == MoveKind.Submit ? "alice" : "operator", facts, asked);

    private static MoveVerdict.Refuse Refuse(MoveVerdict verdict) => Assert.IsType<MoveVerdict.Refuse>(verdict);

    private static string Refused(MoveVerdict verdict) => Refuse(verdict).Reason;

    private static Phase Phase(string name, IReadOnlyList<string> to) => new(name, null, [], [], to, null, [], null, false, false);

    private static TicketRow Ticket(string phase, string? assignee = null, string? resume = null)
    {
        var at = DateTimeOffset.UnixEpoch;
        return new TicketRow(1, "a ticket", "", "w", phase, resume, null, 0, assignee, assignee is null ? null : at, null, null, "[]", "[]", null, "[]",
            null, null, null, null, null, "operator", at, at, at);
    }
}
