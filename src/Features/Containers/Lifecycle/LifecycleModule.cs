using Carter;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Containers;

/// <summary>The operator's lifecycle actions on an agent (start, stop, restart, destroy), or on its subtree: routing only.</summary>
public sealed class LifecycleModule : CarterModule
{
    public LifecycleModule(IMediator mediator)
    {
        // ?subtree=true: the agent and everything under it, as one thing (a different reply: what was stopped or started).
        Post("/api/agents/{name}/start", async (req, res) =>
            await res.Ok(req.QueryFlag("subtree")
                ? await mediator.Send(new StartSubtree.Command(ContainerRoutes.Name(req)), req.HttpContext.RequestAborted)
                : await mediator.Send(new StartAgent.Command(ContainerRoutes.Name(req)), req.HttpContext.RequestAborted)));

        Post("/api/agents/{name}/stop", async (req, res) =>
            await res.Ok(req.QueryFlag("subtree")
                ? await mediator.Send(new StopSubtree.Command(ContainerRoutes.Name(req)), req.HttpContext.RequestAborted)
                : await mediator.Send(new StopAgent.Command(ContainerRoutes.Name(req)), req.HttpContext.RequestAborted)));

        Post("/api/agents/{name}/restart", async (req, res) =>
            await res.Ok(await mediator.Send(new RestartAgent.Command(ContainerRoutes.Name(req)), req.HttpContext.RequestAborted)));

        Delete("/api/agents/{name}", async (req, res) =>
        {
            await mediator.Send(new DestroyAgent.Command(ContainerRoutes.Name(req), Children: req.Query["children"].FirstOrDefault()), req.HttpContext.RequestAborted);
            await res.NoContent();
        });
    }
}
