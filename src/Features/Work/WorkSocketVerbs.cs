using Hive.Contracts.Work;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Socket;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work;

/// <summary>
/// The agents' ticket verbs: <c>ticket_list</c>, <c>ticket_show</c>, <c>ticket_claim</c>, <c>ticket_update</c>,
/// <c>ticket_submit</c>, <c>ticket_block</c>, <c>ticket_discover</c>, <c>ticket_release</c>, <c>ticket_memory</c>, and <c>ticket_create</c> for the
/// manager and the agents <c>Hive:Work:Creators</c> names.
/// </summary>
internal sealed class WorkSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map(WorkVerbs.TicketList, async (request, args) =>
        {
            var tickets = await request.Mediator.Send(new ListTickets.Query(args.Workflow, args.Column, args.Mine == true ? request.Agent : args.Assignee,
                args.Done == true, args.Before, args.Limit ?? 100), request.CancellationToken);
            return new TicketListReply(tickets);
        });

        verbs.Map(WorkVerbs.TicketShow, async (request, args) => await request.Mediator.Send(new ReadTicket.Query(Id(args.Id)), request.CancellationToken));

        verbs.Map(WorkVerbs.TicketCreate, async (request, args) =>
        {
            var creators = request.Services.GetRequiredService<IOptions<WorkOptions>>().Value.Creators;
            if (request.Agent != AgentNames.Manager && !creators.Contains(request.Agent))
                throw new ForbiddenException("only the manager and the agents Hive:Work:Creators names create tickets (ticket_discover adds one found while working a ticket)");
            var ticket = await request.Mediator.Send(new CreateTicket.Command(request.Agent, args.Title, args.Body, args.Workflow, args.Priority, args.Labels,
                args.DependsOn), request.CancellationToken);
            return new TicketReply(ticket);
        });

        verbs.Map(WorkVerbs.TicketClaim, async (request, args) => await request.Mediator.Send(new ClaimTicket.Command(request.Agent, Id(args.Id)), request.CancellationToken));

        verbs.Map(WorkVerbs.TicketUpdate, async (request, args) =>
        {
            var ticket = await request.Mediator.Send(new UpdateTicket.Command(request.Agent, Id(args.Id), args.Note, args.Done), request.CancellationToken);
            return new TicketReply(ticket);
        });

        verbs.Map(WorkVerbs.TicketSubmit, async (request, args) =>
            await request.Mediator.Send(new SubmitTicket.Command(request.Agent, Id(args.Id), args.Outputs, args.Summary, args.Done, args.To), request.CancellationToken));

        verbs.Map(WorkVerbs.TicketBlock, async (request, args) =>
        {
            var ticket = await request.Mediator.Send(new BlockTicket.Command(request.Agent, Id(args.Id), args.Question, args.To, args.Options), request.CancellationToken);
            return new TicketReply(ticket);
        });

        verbs.Map(WorkVerbs.TicketDiscover, async (request, args) =>
        {
            var parent = args.Parent ?? throw new BadRequestException("name the ticket you found it in: parent");
            var ticket = await request.Mediator.Send(new DiscoverTicket.Command(request.Agent, parent, args.Title, args.Body, args.Reason, args.Priority,
                args.BlocksParent == true), request.CancellationToken);
            return new TicketReply(ticket);
        });

        verbs.Map(WorkVerbs.TicketRelease, async (request, args) =>
        {
            var ticket = await request.Mediator.Send(new ReleaseTicket.Command(request.Agent, Id(args.Id)), request.CancellationToken);
            return new TicketReply(ticket);
        });
        verbs.Map(WorkVerbs.TicketMemory, async (request, args) =>
            await request.Mediator.Send(new Memory.SearchTicketMemory.Query(args.Query, args.Limit), request.CancellationToken));
    }

    private static long Id(long? id) => id is > 0 ? id.Value : throw new BadRequestException("name the ticket: {\"id\": <number>}");
}
