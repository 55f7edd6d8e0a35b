using Carter;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Forge;

/// <summary>The operator's forge routes: routing only.</summary>
public sealed class ForgeModule : CarterModule
{
    public ForgeModule(IMediator mediator)
    {
        Get("/api/forge", async (req, res) => await res.Ok(await mediator.Send(new ReadForgeStatus.Query(), req.HttpContext.RequestAborted)));
        Post("/api/forge/sweep", async (req, res) => await res.Ok(await mediator.Send(new SweepForge.Command(), req.HttpContext.RequestAborted)));
    }
}
