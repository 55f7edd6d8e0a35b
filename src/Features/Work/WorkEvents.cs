using Hive.Contracts.Work;
using Hive.Shared.Dashboard;

namespace Hive.Features.Work;

/// <summary>
/// A ticket changed (created, claimed, offered, submitted, moved, blocked, unblocked): its card (<see cref="TicketView.Card"/>;
/// its context and last submission are read with <c>GET /api/tickets/{id}</c>), so an agent noting in a loop cannot fill
/// the event ring with copies of its context.
/// </summary>
public sealed record TicketChanged(TicketView Ticket) : IDashboardEvent<TicketChangedPayload>
{
    public string EventType => "ticket_changed";
    public TicketChangedPayload Payload => new(Ticket.Card());
}

/// <summary>The workflows were loaded again: every workflow in force and the files refused (a snapshot: they are few).</summary>
public sealed record WorkflowsChanged(IReadOnlyList<Workflow> Workflows, IReadOnlyList<WorkflowError> Errors) : IDashboardEvent<WorkflowsChangedPayload>
{
    public string EventType => "workflows_changed";
    public WorkflowsChangedPayload Payload => new(Workflows, Errors);
}

