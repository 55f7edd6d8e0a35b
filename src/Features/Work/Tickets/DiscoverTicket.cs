using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// The agent holding a ticket found more work while doing it (<c>ticket_discover</c>, OmoiOS's discoveries): a new ticket in
/// the same workflow, linked to its parent with the reason it branched. It does not block the parent unless the agent
/// says so (<c>blocks_parent</c>: the parent then depends on it).
/// </summary>
public static class DiscoverTicket
{
    public sealed record Command(string Agent, long ParentId, string? Title, string? Body, string? Reason, int? Priority = null, bool BlocksParent = false)
        : IRequest<TicketView>;

    internal sealed class Handler(IMediator mediator) : IRequestHandler<Command, TicketView>
    {
        public async Task<TicketView> Handle(Command command, CancellationToken cancellationToken)
        {
            var parent = (await mediator.Send(new ReadTicket.Query(command.ParentId), cancellationToken)).Ticket;
            if (parent.Assignee != command.Agent) throw new ForbiddenException($"ticket {parent.Id} is held by {parent.Assignee ?? "nobody"}: discover from a ticket you hold");
            if (string.IsNullOrWhiteSpace(command.Reason)) throw new BadRequestException("say why the work branched: reason");
            var child = await mediator.Send(new CreateTicket.Command(command.Agent, command.Title, command.Body, parent.Workflow, command.Priority ?? parent.Priority,
                [.. parent.Labels], ParentId: parent.Id, DiscoveryReason: command.Reason), cancellationToken);
            if (command.BlocksParent)
                await mediator.Send(new UpdateTicket.Command(Hive.Shared.Agents.AgentNames.Operator, parent.Id, DependsOn: [.. parent.DependsOn, child.Id]), cancellationToken);
            return child;
        }
    }
}
