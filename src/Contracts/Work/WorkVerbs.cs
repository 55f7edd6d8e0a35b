using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

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

public sealed record TicketListReply(IReadOnlyList<TicketView> Tickets);

/// <summary>The ticket after the change (<c>ticket_create</c>, <c>ticket_update</c>, <c>ticket_block</c>, <c>ticket_discover</c>, <c>ticket_release</c>).</summary>
public sealed record TicketReply(TicketView Ticket);

/// <summary>
/// What a passed gate did: the ticket after it, what the gate found, and whether the ticket moved on at once
/// (<c>moved</c>) or waits for room in <c>waiting_for</c>.
/// </summary>
public sealed record TicketSubmitReply(TicketView Ticket, GateResult Gate, bool Moved, string? WaitingFor);

/// <summary>
/// Granted: the lease (its resource, kind and expiry also at the top); not granted: the <c>conflict</c> (whose lease,
/// until when). Each answer carries only its own fields.
/// </summary>
public sealed record LeaseAcquireReply(
    bool Granted, string? Resource,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("granted only")] bool? Exclusive,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("granted only")] DateTimeOffset? ExpiresAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("granted only")] LeaseView? Lease,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("not granted only: whose lease, until when")] LeaseConflict? Conflict);

/// <summary>The renewed lease (its resource, kind and new expiry also at the top).</summary>
public sealed record LeaseRenewReply(string Resource, bool Exclusive, DateTimeOffset ExpiresAt, LeaseView Lease);

public sealed record LeaseListReply(IReadOnlyList<LeaseView> Leases);

/// <summary>The agents' ticket and lease verbs.</summary>
public static class WorkVerbs
{
    public static readonly SocketVerb<TicketListArgs, TicketListReply> TicketList = new("ticket_list", "List tickets, newest first. Returns {tickets: [...]}.", Reach: VerbReach.Own);
    public static readonly SocketVerb<TicketIdArgs, TicketDetail> TicketShow = new("ticket_show", "One ticket with its phase, context, submission and history.", Reach: VerbReach.Own);
    public static readonly SocketVerb<TicketCreateArgs, TicketReply> TicketCreate = new("ticket_create",
        "Create a ticket (the manager, and the agents Hive:Work:Creators names). Returns {ticket}.");
    public static readonly SocketVerb<TicketIdArgs, TicketDetail> TicketClaim = new("ticket_claim",
        "Claim a ticket that waits in a column you may work. The reply is your brief: the phase's prompt, done definition and context, the finished tickets most like it (similar) and the operator's notes for its workflow.");
    public static readonly SocketVerb<TicketUpdateArgs, TicketReply> TicketUpdate = new("ticket_update", "Add a note or tick checklist items. Returns {ticket}.");
    public static readonly SocketVerb<TicketSubmitArgs, TicketSubmitReply> TicketSubmit = new("ticket_submit",
        "Submit your phase's outputs to its gate; passed, the ticket moves on.");
    public static readonly SocketVerb<TicketBlockArgs, TicketReply> TicketBlock = new("ticket_block",
        "Mark your ticket blocked on a question; the answer unblocks it. Returns {ticket}.");
    public static readonly SocketVerb<TicketDiscoverArgs, TicketReply> TicketDiscover = new("ticket_discover",
        "Add a ticket you found while working another. Returns {ticket}.");
    public static readonly SocketVerb<TicketIdArgs, TicketReply> TicketRelease = new("ticket_release", "Give a ticket you claimed back. Returns {ticket}.");
    public static readonly SocketVerb<TicketMemoryArgs, TicketMemoryReply> TicketMemory = new("ticket_memory",
        "Search the outcomes of finished tickets (title, body, labels, the summary their worker wrote): what was done, the files changed, the gates, " +
        "the cost and a link, the most relevant first. Returns {outcomes: [...]}.", McpTool: true, Reach: VerbReach.Own);

    public static readonly SocketVerb<LeaseAcquireArgs, LeaseAcquireReply> LeaseAcquire = new("lease_acquire",
        "Take a lease on a resource (a path, a branch, a name). Someone else's lease is not an error: granted false with the conflict.");
    public static readonly SocketVerb<LeaseRenewArgs, LeaseRenewReply> LeaseRenew = new("lease_renew", "Renew a lease you hold.");
    public static readonly SocketVerb<LeaseReleaseArgs, LeaseReleaseReply> LeaseRelease = new("lease_release", "Release a lease you hold.");
    public static readonly SocketVerb<NoArgs, LeaseListReply> LeaseList = new("lease_list", "Every lease held now. Returns {leases: [...]}.", Reach: VerbReach.Own);
}
