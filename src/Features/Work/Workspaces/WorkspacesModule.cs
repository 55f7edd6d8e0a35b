using Carter;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Work.Workspaces;

/// <summary>The operator's workspace routes: routing only.</summary>
public sealed class WorkspacesModule : CarterModule
{
    public WorkspacesModule(IMediator mediator) : base("/api/workspaces")
    {
        Get("/", async (req, res) => await res.Ok(await mediator.Send(new ListWorkspaces.Query(), req.HttpContext.RequestAborted)));
        Get("/usage", async (req, res) => await res.Ok(await mediator.Send(new ReadWorkspaceUsage.Query(), req.HttpContext.RequestAborted)));
    }
}
