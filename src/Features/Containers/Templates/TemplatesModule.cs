using Carter;
using Hive.Contracts.Agents;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Containers.Templates;

/// <summary>The operator's templates (export, import, diff): routing only.</summary>
public sealed class TemplatesModule : CarterModule
{
    public TemplatesModule(IMediator mediator)
    {
        Get("/api/templates/export", async (req, res) =>
            await res.Ok(await mediator.Send(new ExportTemplate.Query(req.Query["agent"].FirstOrDefault(), req.QueryFlag("subtree"), req.QueryFlag("swarm"),
                req.Query["name"].FirstOrDefault()), req.HttpContext.RequestAborted)));

        Post("/api/templates/import", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<TemplateImportRequest>();
            var reply = await mediator.Send(new ImportTemplate.Command(body.Files, body.Prefix, body.DryRun), req.HttpContext.RequestAborted);
            if (reply.ApprovalId is null) await res.Ok(reply);
            else await res.Created($"/api/approvals/{reply.ApprovalId}", reply);
        });

        Post("/api/templates/diff", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<TemplateDiffRequest>();
            await res.Ok(await mediator.Send(new DiffTemplate.Query(body.Files, body.Prefix), req.HttpContext.RequestAborted));
        });
    }
}
