using Hive.Shared.Dashboard;

namespace Hive.Features.Work;

/// <summary>
/// A ticket changed (created, claimed, offered, submitted, moved, blocked, unblocked): its card (<see cref="TicketView.Card"/>;
/// its context and last submission are read with <c>GET /api/tickets/{id}</c>), so an agent noting in a loop cannot fill
/// the event ring with copies of its context.
/// </summary>
public sealed record TicketChanged(TicketView Ticket) : IDashboardEvent
{
    public string EventType => "ticket_changed";
    public object Payload => new { ticket = Ticket.Card() };
}

/// <summary>The workflows were loaded again: every workflow in force and the files refused (a snapshot: they are few).</summary>
public sealed record WorkflowsChanged(IReadOnlyList<Workflow> Workflows, IReadOnlyList<WorkflowError> Errors) : IDashboardEvent
{
    public string EventType => "workflows_changed";
    public object Payload => new { workflows = Workflows, errors = Errors };
}

