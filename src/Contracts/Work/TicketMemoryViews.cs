using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Hive.Contracts.Work;

/// <summary>
/// What a finished ticket left behind, kept when it reached done: its title, the summary its last worker wrote
/// (<c>ticket_submit</c>'s <c>summary</c>), the files it changed (its branch against its base where it had one, else the
/// files it handed in), what each gate found on the way, its metered cost (null: Hive does not meter a ticket's spend),
/// who finished it, when, and its page on the dashboard (<c>link</c>).
/// </summary>
public sealed record TicketOutcome(
    long Id, string Title, string Workflow, string? Summary, IReadOnlyList<string> Files, IReadOnlyList<OutcomeGate> Gates, double? CostUsd,
    string? FinishedBy, DateTimeOffset DoneAt, string Link);

/// <summary>A gate the ticket passed (or a review that moved it): the move and what was found.</summary>
public sealed record OutcomeGate(string? From, string To, bool Passed, string? Review);

public sealed record TicketMemoryArgs(
    [property: Required, Description("words to look for in finished tickets' titles, bodies, labels and summaries")] string? Query,
    [property: Description("at most this many (1 to 20, default 5)")] int? Limit);

/// <summary>Finished tickets' outcomes, the most relevant first.</summary>
public sealed record TicketMemoryReply(IReadOnlyList<TicketOutcome> Outcomes);
