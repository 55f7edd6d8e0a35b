using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Socket;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work;

/// <summary>
/// The agents' ticket verbs: <c>ticket_list</c>, <c>ticket_show</c>, <c>ticket_claim</c>, <c>ticket_update</c>,
/// <c>ticket_submit</c>, <c>ticket_block</c>, <c>ticket_discover</c>, <c>ticket_release</c>, and <c>ticket_create</c> for the
/// manager and the agents <c>Hive:Work:Creators</c> names.
/// </summary>
internal sealed class WorkSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map("ticket_list", async request =>
        {
            var args = request.Bind<ListArgs>();
            var tickets = await request.Mediator.Send(new ListTickets.Query(args.Workflow, args.Column, args.Mine == true ? request.Agent : args.Assignee,
                args.Done == true, args.Before, args.Limit ?? 100), request.CancellationToken);
            return new { tickets };
        });

        verbs.Map("ticket_show", async request => await request.Mediator.Send(new ReadTicket.Query(Id(request)), request.CancellationToken));

        verbs.Map("ticket_create", async request =>
        {
            var creators = request.Services.GetRequiredService<IOptions<WorkOptions>>().Value.Creators;
            if (request.Agent != AgentNames.Manager && !creators.Contains(request.Agent))
                throw new ForbiddenException("only the manager and the agents Hive:Work:Creators names create tickets (ticket_discover adds one found while working a ticket)");
            var args = request.Bind<CreateArgs>();
            var ticket = await request.Mediator.Send(new CreateTicket.Command(request.Agent, args.Title, args.Body, args.Workflow, args.Priority, args.Labels,
                args.DependsOn), request.CancellationToken);
            return new { ticket };
        });

        verbs.Map("ticket_claim", async request => await request.Mediator.Send(new ClaimTicket.Command(request.Agent, Id(request)), request.CancellationToken));

        verbs.Map("ticket_update", async request =>
        {
            var args = request.Bind<UpdateArgs>();
            var ticket = await request.Mediator.Send(new UpdateTicket.Command(request.Agent, Id(request), args.Note, args.Done), request.CancellationToken);
            return new { ticket };
        });

        verbs.Map("ticket_submit", async request =>
        {
            var args = request.Bind<SubmitArgs>();
            return await request.Mediator.Send(new SubmitTicket.Command(request.Agent, Id(request), args.Outputs, args.Summary, args.Done, args.To), request.CancellationToken);
        });

        verbs.Map("ticket_block", async request =>
        {
            var args = request.Bind<BlockArgs>();
            var ticket = await request.Mediator.Send(new BlockTicket.Command(request.Agent, Id(request), args.Question, args.To, args.Options), request.CancellationToken);
            return new { ticket };
        });

        verbs.Map("ticket_discover", async request =>
        {
            var args = request.Bind<DiscoverArgs>();
            var parent = args.Parent ?? throw new BadRequestException("name the ticket you found it in: parent");
            var ticket = await request.Mediator.Send(new DiscoverTicket.Command(request.Agent, parent, args.Title, args.Body, args.Reason, args.Priority,
                args.BlocksParent == true), request.CancellationToken);
            return new { ticket };
        });

        verbs.Map("ticket_release", async request =>
        {
            var ticket = await request.Mediator.Send(new ReleaseTicket.Command(request.Agent, Id(request)), request.CancellationToken);
            return new { ticket };
        });
    }

    private static long Id(SocketRequest request) =>
        request.Body.TryGetProperty("id", out var id) && id.ValueKind == System.Text.Json.JsonValueKind.Number && id.TryGetInt64(out var value) && value > 0
            ? value
            : throw new BadRequestException("name the ticket: {\"id\": <number>}");

    private sealed record ListArgs(string? Workflow, string? Column, string? Assignee, bool? Mine, bool? Done, long? Before, int? Limit);

    private sealed record CreateArgs(string? Title, string? Body, string? Workflow, int? Priority, IReadOnlyList<string>? Labels, IReadOnlyList<long>? DependsOn);

    private sealed record UpdateArgs(string? Note, IReadOnlyList<string>? Done);

    private sealed record SubmitArgs(IReadOnlyList<OutputValue>? Outputs, string? Summary, IReadOnlyList<string>? Done, string? To);

    private sealed record BlockArgs(string? Question, string? To, IReadOnlyList<string?>? Options);

    private sealed record DiscoverArgs(long? Parent, string? Title, string? Body, string? Reason, int? Priority, bool? BlocksParent);
}
