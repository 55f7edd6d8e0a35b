using Hive.Contracts.Work;

namespace Hive.Features.Work;

/// <summary>Who moves a ticket and why, and so which of the rule's parts apply.</summary>
internal enum MoveKind
{
    /// <summary>The operator drags it on the board: any move its phase allows, back or forward; forward it must pass the gate.</summary>
    Operator,

    /// <summary>The agent holding it submits: on, through the gate; a full column (or an end it may not reach yet) queues it.</summary>
    Submit,

    /// <summary>The agent holding it cannot go on without an answer: to the side phase, keeping its column.</summary>
    Block,

    /// <summary>The answer to its question returns a blocked ticket to the phase it came from (<c>to</c> is not asked: it is that one).</summary>
    Answer,

    /// <summary>A review's verdict moves it on or back; a full column (or an end it may not reach yet) queues it.</summary>
    Review,

    /// <summary>The board pulls a waiting ticket into a column with room, its dependencies done.</summary>
    Board,
}

/// <summary>
/// What the rule knows besides the ticket and its workflow, loaded by the caller: how many tickets the target column holds
/// (blocked ones count in their column), the dependencies not done, and the gate's finding once it has been asked.
/// </summary>
internal sealed record MoveFacts(long InColumn, IReadOnlyList<long> WaitingOn, GateResult? Gate = null)
{
    public static readonly MoveFacts None = new(0, []);
}

/// <summary>The rule's answer.</summary>
internal abstract record MoveVerdict
{
    /// <summary>Move now; the history records <paramref name="Gate"/> (null: no gate was asked).</summary>
    public sealed record Move(GateResult? Gate) : MoveVerdict;

    /// <summary>It passed, but waits for room (or its dependencies) in the target column: <c>next_phase</c>, pulled by the board.</summary>
    public sealed record Queue(GateResult? Gate) : MoveVerdict;

    /// <summary>It is there already: nothing to do.</summary>
    public sealed record Stay : MoveVerdict;

    /// <summary>The move needs the gate's finding: ask the gate, then the rule again with it (<see cref="MoveFacts.Gate"/>).</summary>
    public sealed record AskGate : MoveVerdict;

    /// <summary>Refused: why (a sentence for the caller) and, for a gate, each thing missing.</summary>
    public sealed record Refuse(string Reason, IReadOnlyList<string>? Missing = null) : MoveVerdict;
}

/// <summary>
/// The one answer to "may this ticket move from where it is to <c>to</c>, and if not why": the moves its phase allows,
/// the side phase (blocked) that is not a column, each column's WIP limit, its dependencies, and its gate. Pure: the
/// caller loads the facts and does what the verdict says; refusals are the sentences the wire carries.
/// </summary>
internal static class TicketMoveRule
{
    public static MoveVerdict Check(Workflow workflow, TicketRow ticket, Phase? to, MoveKind mover, string by, MoveFacts facts, string? asked = null)
    {
        if (ticket.ResumePhase is not null)
            return mover == MoveKind.Answer ? new MoveVerdict.Move(null) : new MoveVerdict.Refuse(Blocked(ticket, mover));
        var from = workflow.Find(ticket.Phase);
        return mover switch
        {
            MoveKind.Operator => ByOperator(workflow, ticket, from, to!, by, facts),
            MoveKind.Submit => BySubmit(workflow, ticket, from, to, facts, asked),
            MoveKind.Block => to is { Side: true } ? new MoveVerdict.Move(null) : new MoveVerdict.Refuse($"workflow {workflow.Name} has no side phase to block a ticket in"),
            MoveKind.Answer => new MoveVerdict.Refuse($"ticket {ticket.Id} is not blocked"),
            MoveKind.Review => to is null ? new MoveVerdict.Refuse($"{ticket.Phase} has nowhere to go") : OnOrQueue(to, facts, facts.Gate),
            MoveKind.Board => to is null ? new MoveVerdict.Refuse($"{ticket.Phase} has nowhere to go")
                : !HasRoom(to, facts.InColumn) ? new MoveVerdict.Refuse(Full(to))
                : facts.WaitingOn.Count > 0 ? new MoveVerdict.Refuse(WaitsFor(ticket.Id, facts.WaitingOn))
                : new MoveVerdict.Move(ticket.Submission?.Gate ?? GateResult.Open),
            _ => throw new ArgumentOutOfRangeException(nameof(mover), mover, null),
        };
    }

    /// <summary>
    /// Any move the phase allows, back or forward, into a column with room; forward only after the dependencies, and out of a
    /// gated phase only through its gate. Out of a reviewed phase the operator's move is the review. From a phase the
    /// workflow in force dropped, anywhere that is a column with room (no gate to ask).
    /// </summary>
    private static MoveVerdict ByOperator(Workflow workflow, TicketRow ticket, Phase? from, Phase to, string by, MoveFacts facts)
    {
        if (to.Name == ticket.Phase) return new MoveVerdict.Stay();
        if (to.Side) return new MoveVerdict.Refuse($"{to.Name} is where an agent's question puts a ticket (ticket_block), not a column");
        if (from is null) return HasRoom(to, facts.InColumn) ? new MoveVerdict.Move(null) : new MoveVerdict.Refuse(Full(to));
        if (!from.AllowedTransitions.Contains(to.Name))
            return new MoveVerdict.Refuse($"{from.Name} moves only to {(from.AllowedTransitions.Count == 0 ? "nothing (it is terminal)" : string.Join(", ", from.AllowedTransitions))}");
        if (!HasRoom(to, facts.InColumn)) return new MoveVerdict.Refuse(Full(to));
        var forward = Index(workflow, to) > Index(workflow, from);
        if (forward && facts.WaitingOn.Count > 0) return new MoveVerdict.Refuse(WaitsFor(ticket.Id, facts.WaitingOn));
        if (from.ReviewedBy is not null) return new MoveVerdict.Move(new GateResult(true, [], $"moved by {by}"));
        if (!forward || !Gated(from)) return new MoveVerdict.Move(null);
        if (facts.Gate is not { } gate) return new MoveVerdict.AskGate();
        return gate.Passed ? new MoveVerdict.Move(gate) : new MoveVerdict.Refuse($"the gate of {from.Name} refuses: {string.Join("; ", gate.Missing)}", gate.Missing);
    }

    /// <summary>On to a column the phase allows (its first, unless the agent names one), through the gate, its dependencies done.</summary>
    private static MoveVerdict BySubmit(Workflow workflow, TicketRow ticket, Phase? from, Phase? to, MoveFacts facts, string? asked)
    {
        if (from is null) return new MoveVerdict.Refuse(NoSuchPhase(ticket));
        if (to is null || !from.AllowedTransitions.Contains(to.Name) || to.Side)
            return new MoveVerdict.Refuse($"{from.Name} moves on to {string.Join(" or ", from.AllowedTransitions.Where(t => workflow.Find(t) is { Side: false }))}" +
                                          (asked is null ? "" : $", not {asked}"));
        if (facts.Gate is not { } gate) return new MoveVerdict.AskGate();
        List<string> missing = [.. facts.WaitingOn.Count > 0 ? [WaitsFor(facts.WaitingOn)] : Array.Empty<string>(), .. gate.Missing];
        if (missing.Count > 0)
            return new MoveVerdict.Refuse($"the gate of {from.Name} refuses ticket {ticket.Id}: {string.Join("; ", missing)}", missing);
        return OnOrQueue(to, facts, gate);
    }

    /// <summary>Now when the column has room and, for an end, the dependencies are done; else it waits for the board.</summary>
    private static MoveVerdict OnOrQueue(Phase to, MoveFacts facts, GateResult? gate) =>
        HasRoom(to, facts.InColumn) && (!to.Terminal || facts.WaitingOn.Count == 0) ? new MoveVerdict.Move(gate) : new MoveVerdict.Queue(gate);

    /// <summary>Whether leaving <paramref name="phase"/> forward asks its gate (expected outputs or a done definition).</summary>
    public static bool Gated(Phase phase) => phase.ExpectedOutputs.Count > 0 || phase.DoneDefinition.Count > 0;

    /// <summary>Whether <paramref name="phase"/>'s column has room for one more ticket besides the <paramref name="inColumn"/> it holds.</summary>
    public static bool HasRoom(Phase phase, long inColumn) => Room(phase, inColumn) > 0;

    /// <summary>How many more tickets <paramref name="phase"/>'s column takes (its WIP limit less what it holds; no limit, no end).</summary>
    public static long Room(Phase phase, long inColumn) => phase.WipLimit is { } limit ? limit - inColumn : long.MaxValue;

    public static string Full(Phase phase) => $"{phase.Name} is at its WIP limit ({phase.WipLimit}): it takes another ticket when one leaves";

    public static string WaitsFor(IReadOnlyList<long> waitingOn) =>
        $"waits for ticket{(waitingOn.Count > 1 ? "s" : "")} {string.Join(", ", waitingOn)} to be done";

    public static string WaitsFor(long ticket, IReadOnlyList<long> waitingOn) => $"ticket {ticket} {WaitsFor(waitingOn)}";

    /// <summary>Why a blocked ticket does not move: the operator answers the question; its agent waits for the answer.</summary>
    public static string Blocked(TicketRow ticket, MoveKind mover) => mover == MoveKind.Operator
        ? $"ticket {ticket.Id} is blocked on question {ticket.BlockedQuestionId}: answer it first"
        : $"ticket {ticket.Id} is blocked on question {ticket.BlockedQuestionId}: it can move once that is answered";

    public static string NoSuchPhase(TicketRow ticket) =>
        $"ticket {ticket.Id} is in {ticket.Workflow}/{ticket.Phase}, which the workflow in force does not have: the operator moves it";

    private static int Index(Workflow workflow, Phase phase) => workflow.Phases.ToList().IndexOf(phase);
}
