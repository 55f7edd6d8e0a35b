using Carter;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Containers;

/// <summary>The meta repo's log and pinned inputs: routing only.</summary>
public sealed class MetaModule : CarterModule
{
    public MetaModule(IMediator mediator)
    {
        Get("/api/meta", async (req, res) => await res.Ok(await mediator.Send(new ReadMeta.Query(), req.HttpContext.RequestAborted)));

        Post("/api/meta/update", async (req, res) => await res.Ok(await mediator.Send(new UpdateMetaInputs.Command(), req.HttpContext.RequestAborted)));

        Put("/api/meta/inputs/{name}", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<InputBody>();
            await res.Ok(await mediator.Send(new UpdateMetaInputs.Command(ContainerRoutes.Name(req), body.Source), req.HttpContext.RequestAborted));
        });
    }

    private sealed record InputBody(string? Source);
}
