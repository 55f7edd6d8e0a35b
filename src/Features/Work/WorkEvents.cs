using Hive.Shared.Dashboard;

namespace Hive.Features.Work;

/// <summary>A ticket changed (created, claimed, offered, submitted, moved, blocked, unblocked): its whole view.</summary>
public sealed record TicketChanged(TicketView Ticket) : IDashboardEvent
{
    public string EventType => "ticket_changed";
    public object Payload => new { ticket = Ticket };
}

/// <summary>The workflows were loaded again: every workflow in force and the files refused (a snapshot: they are few).</summary>
public sealed record WorkflowsChanged(IReadOnlyList<Workflow> Workflows, IReadOnlyList<WorkflowError> Errors) : IDashboardEvent
{
    public string EventType => "workflows_changed";
    public object Payload => new { workflows = Workflows, errors = Errors };
}

