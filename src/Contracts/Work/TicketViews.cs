using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Hive.Contracts.Work;

/// <summary>
/// A ticket as the board, the API and the agents see it. <c>column</c> is where the board shows it (a blocked ticket stays
/// in the column it came from); <c>next_phase</c> is set when its gate passed and it waits for room there; <c>waiting_on</c>
/// lists the tickets it depends on that are not done yet.
/// </summary>
public sealed record TicketView(
    long Id, string Title, string Body, string Workflow, string Phase, string Column, bool Blocked, long? BlockedQuestionId,
    string? NextPhase, int Priority, string? Assignee, DateTimeOffset? ClaimedAt, string? OfferedTo, DateTimeOffset? OfferedAt,
    IReadOnlyList<string> Labels, IReadOnlyList<long> DependsOn, IReadOnlyList<long> WaitingOn, long? ParentId, string? DiscoveryReason,
    IReadOnlyList<ContextEntry> Context, IReadOnlyList<string> Ticks, Submission? Submitted, ReviewView? Review, bool Done,
    string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset PhaseEnteredAt, TicketForecast? Forecast = null)
{
    public const int CardBodyChars = 280;

    /// <summary>
    /// The ticket as the board's card needs it (<c>ticket_changed</c>, the snapshot's <c>work.tickets</c>): its body cut to
    /// <see cref="CardBodyChars"/>, without its context and last submission (bounded by size, not by count: they are the
    /// ticket's, in <c>GET /api/tickets/{id}</c>).
    /// </summary>
    public TicketView Card() => this with { Body = Body.Length <= CardBodyChars ? Body : Body[..CardBodyChars] + "…", Context = [], Submitted = null };
}

/// <summary>
/// What a ticket will probably cost, made when it was last offered or claimed (null before): the weighted median and 90th
/// percentile of the metered costs of the <c>basis</c> finished tickets most like it (both null, basis 0: none like it has
/// a known cost; nothing is made up). <c>question_id</c>: the operator was asked whether to start it, its P90 being above
/// what its assignee's daily budget had left; <c>decision</c> their <c>yes</c> or <c>no</c> (null while open).
/// <c>text</c> is the line the board shows.
/// </summary>
public sealed record TicketForecast(double? P50Usd, double? P90Usd, int Basis, DateTimeOffset MadeAt, long? QuestionId, string? Decision, string Text);

/// <summary>What a phase handed on: its outputs and the summary its worker wrote (a review's comments too).</summary>
public sealed record ContextEntry(string Phase, string By, DateTimeOffset At, string? Summary, IReadOnlyList<OutputValue> Outputs);

/// <summary>The outputs and ticks last submitted in the current phase, and what its gate found.</summary>
public sealed record Submission(string By, DateTimeOffset At, IReadOnlyList<OutputValue> Outputs, string? Summary, GateResult Gate);

public sealed record ReviewView(long QuestionId, string Reviewer);

/// <summary>A gate's finding: passed, or what is missing (one line each).</summary>
public sealed record GateResult(bool Passed, IReadOnlyList<string> Missing, string? Review = null)
{
    public static readonly GateResult Open = new(true, []);
}

public sealed record HistoryEntry(long Id, string? FromPhase, string ToPhase, string MovedBy, DateTimeOffset MovedAt, GateResult? Gate);

public sealed record NoteView(long Id, string Author, DateTimeOffset WrittenAt, string Text);

/// <summary>
/// A ticket with its history, notes and children (<c>GET /api/tickets/{id}</c>, <c>ticket_show</c>). The claim's reply
/// (<c>ticket_claim</c>, the brief) carries besides the outcomes of the finished tickets most like it (<c>similar</c>) and
/// the operator's notes for its workflow (<c>workflow_notes</c>, from the meta repo's <c>notes/&lt;workflow&gt;.md</c>).
/// </summary>
public sealed record TicketDetail(TicketView Ticket, IReadOnlyList<HistoryEntry> History, IReadOnlyList<NoteView> Notes, IReadOnlyList<TicketView> Children,
    string? Prompt, IReadOnlyList<string> DoneDefinition, IReadOnlyList<ExpectedOutput> ExpectedOutputs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("the claim's only: finished tickets most like this one, the closest first")]
    IReadOnlyList<TicketOutcome>? Similar = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("the claim's only: the operator's notes for the workflow")]
    string? WorkflowNotes = null);
