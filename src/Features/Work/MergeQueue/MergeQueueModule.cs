using Carter;
using Hive.Shared.Agents;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Work.MergeQueue;

/// <summary>The operator's merge queues: read them, take a ticket out, retry a held one, pause and resume a repository's. Routing only.</summary>
public sealed class MergeQueueModule : CarterModule
{
    public MergeQueueModule(IMediator mediator) : base("/api/merge-queue")
    {
        Get("/", async (req, res) => await res.Ok(await mediator.Send(new ListMergeQueue.Query(), req.HttpContext.RequestAborted)));

        Delete("/{ticket}", async (req, res) =>
            await res.Ok(await mediator.Send(new ChangeQueueEntry.Command(AgentNames.Operator, req.RouteLong("ticket"), ChangeQueueEntry.Remove), req.HttpContext.RequestAborted)));

        Post("/{ticket}/retry", async (req, res) =>
            await res.Ok(await mediator.Send(new ChangeQueueEntry.Command(AgentNames.Operator, req.RouteLong("ticket"), ChangeQueueEntry.Retry), req.HttpContext.RequestAborted)));

        Post("/pause", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<RepositoryBody>();
            await res.Ok(await mediator.Send(new PauseMergeQueue.Command(AgentNames.Operator, body.Repository, Paused: true), req.HttpContext.RequestAborted));
        });

        Post("/resume", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<RepositoryBody>();
            await res.Ok(await mediator.Send(new PauseMergeQueue.Command(AgentNames.Operator, body.Repository, Paused: false), req.HttpContext.RequestAborted));
        });
    }

    private sealed record RepositoryBody(string? Repository);
}
