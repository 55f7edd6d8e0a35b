using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Hive.Contracts.Work;

/// <summary>An artifact given to a gate: <c>kind</c> as the phase's expected outputs name them, and its value (a path, a branch, a sha, a URL, a note).</summary>
public sealed record OutputValue(string Kind, string Value);

public sealed record TicketIdArgs([property: Required, Description("the ticket's id")] long? Id);

public sealed record TicketListArgs(
    [property: Description("only this workflow's tickets")] string? Workflow,
    [property: Description("only the tickets in this column")] string? Column,
    [property: Description("only the tickets assigned to this agent")] string? Assignee,
    [property: Description("only yours")] bool? Mine,
    [property: Description("list done tickets too")] bool? Done,
    [property: Description("only tickets with a smaller id (the next page)")] long? Before,
    [property: Description("at most this many (default 100)")] int? Limit);

public sealed record TicketCreateArgs(
    [property: Required] string? Title, string? Body,
    [property: Description("the workflow it runs through (default: the hive's)")] string? Workflow,
    int? Priority, IReadOnlyList<string>? Labels,
    [property: Description("ids of tickets that must be done first")] IReadOnlyList<long>? DependsOn);

public sealed record TicketUpdateArgs(
    [property: Required] long? Id,
    [property: Description("a note for the ticket's history")] string? Note,
    [property: Description("checklist items ticked")] IReadOnlyList<string>? Done);

public sealed record TicketSubmitArgs(
    [property: Required] long? Id,
    [property: Description("the phase's outputs, each {kind, value}")] IReadOnlyList<OutputValue>? Outputs,
    string? Summary,
    [property: Description("checklist items ticked")] IReadOnlyList<string>? Done,
    [property: Description("the column to move to, where the workflow offers more than one")] string? To);

public sealed record TicketBlockArgs(
    [property: Required] long? Id,
    [property: Required, Description("what blocks it, asked of the operator or of to")] string? Question,
    [property: Description("an agent's name; leave out to ask the operator")] string? To,
    IReadOnlyList<string?>? Options);

public sealed record TicketDiscoverArgs(
    [property: Required, Description("the ticket you found it in")] long? Parent,
    [property: Required] string? Title, string? Body, string? Reason, int? Priority,
    [property: Description("the parent cannot be done before this one")] bool? BlocksParent);

public sealed record LeaseAcquireArgs(
    [property: Required] string? Resource,
    [property: Description("how long it holds unless renewed")] int? TtlSeconds,
    [property: Description("exclusive (default) or shared")] bool? Exclusive,
    string? Reason);

public sealed record LeaseRenewArgs([property: Required] string? Resource, int? TtlSeconds);

public sealed record LeaseReleaseArgs([property: Required] string? Resource);

public sealed record LeaseReleaseReply(string? Resource);

/// <summary>The agents' ticket and lease verbs.</summary>
public static class WorkVerbs
{
    public static readonly SocketVerb<TicketListArgs> TicketList = new("ticket_list", "List tickets, newest first. Returns {tickets: [...]}.");
    public static readonly SocketVerb<TicketIdArgs> TicketShow = new("ticket_show", "One ticket with its phase, context, submission and history.");
    public static readonly SocketVerb<TicketCreateArgs> TicketCreate = new("ticket_create",
        "Create a ticket (the manager, and the agents Hive:Work:Creators names). Returns {ticket}.");
    public static readonly SocketVerb<TicketIdArgs> TicketClaim = new("ticket_claim", "Claim a ticket that waits in a column you may work.");
    public static readonly SocketVerb<TicketUpdateArgs> TicketUpdate = new("ticket_update", "Add a note or tick checklist items. Returns {ticket}.");
    public static readonly SocketVerb<TicketSubmitArgs> TicketSubmit = new("ticket_submit",
        "Submit your phase's outputs to its gate; passed, the ticket moves on.");
    public static readonly SocketVerb<TicketBlockArgs> TicketBlock = new("ticket_block",
        "Mark your ticket blocked on a question; the answer unblocks it. Returns {ticket}.");
    public static readonly SocketVerb<TicketDiscoverArgs> TicketDiscover = new("ticket_discover",
        "Add a ticket you found while working another. Returns {ticket}.");
    public static readonly SocketVerb<TicketIdArgs> TicketRelease = new("ticket_release", "Give a ticket you claimed back. Returns {ticket}.");

    public static readonly SocketVerb<LeaseAcquireArgs> LeaseAcquire = new("lease_acquire",
        "Take a lease on a resource (a path, a branch, a name). Someone else's lease is not an error: granted false with the conflict.");
    public static readonly SocketVerb<LeaseRenewArgs> LeaseRenew = new("lease_renew", "Renew a lease you hold.");
    public static readonly SocketVerb<LeaseReleaseArgs, LeaseReleaseReply> LeaseRelease = new("lease_release", "Release a lease you hold.");
    public static readonly SocketVerb<NoArgs> LeaseList = new("lease_list", "Every lease held now. Returns {leases: [...]}.");
}
