using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work;

/// <summary>
/// The agent holding a ticket found more work while doing it (<c>ticket_discover</c>, OmoiOS's discoveries): a new ticket in
/// the same workflow, linked to its parent with the reason it branched, in one change. Its priority is at most its
/// parent's (an agent cannot jump the operator's queue), and a parent has at most <c>MaxDiscoveriesPerTicket</c>. It does
/// not hold the parent back unless the agent says so (<c>blocks_parent</c>: the parent then depends on it).
/// </summary>
public static class DiscoverTicket
{
    public sealed record Command(string Agent, long ParentId, string? Title, string? Body, string? Reason, int? Priority = null, bool BlocksParent = false)
        : IRequest<TicketView>, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, IMediator mediator, IOptions<WorkOptions> options) : IRequestHandler<Command, TicketView>
    {
        public async Task<TicketView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var parent = TicketReads.Get(change, command.ParentId);
            if (parent.Assignee != command.Agent) throw new ForbiddenException($"ticket {parent.Id} is held by {parent.Assignee ?? "nobody"}: discover from a ticket you hold");
            if (string.IsNullOrWhiteSpace(command.Reason)) throw new BadRequestException("say why the work branched: reason");
            var max = options.Value.MaxDiscoveriesPerTicket;
            if (change.QuerySingle<long>("SELECT count(*) FROM tickets WHERE parent_id = @Id", parent) >= max)
                throw new TooManyException($"ticket {parent.Id} already has {max} discoveries, the most a ticket may have");
            var dependsOn = change.Query<long>("SELECT depends_on FROM ticket_dependencies WHERE ticket_id = @Id", parent);
            if (command.BlocksParent && dependsOn.Count >= CreateTicket.MaxDependencies)
                throw new TooManyException($"ticket {parent.Id} already depends on {CreateTicket.MaxDependencies} tickets");
            var child = await mediator.Send(new CreateTicket.Command(command.Agent, command.Title, command.Body, parent.Workflow,
                Math.Min(command.Priority ?? (int)parent.Priority, (int)parent.Priority), [.. parent.LabelList], ParentId: parent.Id,
                DiscoveryReason: command.Reason), cancellationToken);
            if (command.BlocksParent)
            {
                TicketDependencies.Set(change, parent.Id, [.. dependsOn, child.Id]);
                change.RaiseTicketChanged(TicketReads.Get(change, parent.Id), catalog);
            }
            return child;
        }
    }
}
