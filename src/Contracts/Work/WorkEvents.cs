namespace Hive.Contracts.Work;

// The payloads of the Work slice's dashboard events.

/// <summary><c>ticket_changed</c>: the ticket's card (<see cref="TicketView.Card"/>).</summary>
public sealed record TicketChangedPayload(TicketView Ticket);

/// <summary><c>workflows_changed</c>: every workflow in force and the files refused (a snapshot: they are few).</summary>
public sealed record WorkflowsChangedPayload(IReadOnlyList<Workflow> Workflows, IReadOnlyList<WorkflowError> Errors);

/// <summary>
/// <c>leases_changed</c>: what the change granted or renewed, what ended, how many are live now, and why
/// (<c>granted</c>, <c>renewed</c>, <c>released</c>, <c>broken</c>, <c>expired</c>, <c>holder_exited</c>).
/// </summary>
public sealed record LeasesChangedPayload(IReadOnlyList<LeaseView> Leases, IReadOnlyList<LeaseEnded> Ended, long Live, string Why);
