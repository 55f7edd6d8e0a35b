using Carter;
using Hive.Shared.Agents;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Work;

/// <summary>The operator's tickets and board. Routing only.</summary>
public sealed class TicketsModule : CarterModule
{
    public TicketsModule(IMediator mediator) : base("/api/tickets")
    {
        Get("/", async (req, res) => await res.Ok(await mediator.Send(new ListTickets.Query(
            req.Query["workflow"].FirstOrDefault(), req.Query["column"].FirstOrDefault(), req.Query["assignee"].FirstOrDefault(),
            req.Query["done"].FirstOrDefault() == "true", req.QueryLong("before"), (int?)req.QueryLong("limit")), req.HttpContext.RequestAborted)));

        Post("/", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<CreateBody>();
            var ticket = await mediator.Send(new CreateTicket.Command(AgentNames.Operator, body.Title, body.Body, body.Workflow, body.Priority, body.Labels, body.DependsOn),
                req.HttpContext.RequestAborted);
            await res.Created($"/api/tickets/{ticket.Id}", ticket);
        });

        Get("/memory", async (req, res) => await res.Ok(await mediator.Send(new Memory.SearchTicketMemory.Query(req.Query["q"].FirstOrDefault(),
            req.QueryLong("limit") is { } limit ? (int)Math.Min(limit, int.MaxValue) : null), req.HttpContext.RequestAborted)));

        Get("/{id}", async (req, res) => await res.Ok(await mediator.Send(new ReadTicket.Query(req.RouteLong("id")), req.HttpContext.RequestAborted)));

        Patch("/{id}", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<PatchBody>();
            await res.Ok(await mediator.Send(new UpdateTicket.Command(AgentNames.Operator, req.RouteLong("id"), body.Note, null, body.Title, body.Body, body.Priority,
                body.Labels, body.DependsOn), req.HttpContext.RequestAborted));
        });

        Post("/{id}/move", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<MoveBody>();
            await res.Ok(await mediator.Send(new MoveTicket.Command(AgentNames.Operator, req.RouteLong("id"), body.To), req.HttpContext.RequestAborted));
        });

        Get("/{id}/diff", async (req, res) =>
            await res.Ok(await mediator.Send(new Workspaces.ReadTicketDiff.Query(req.RouteLong("id")), req.HttpContext.RequestAborted)));

        Post("/{id}/release", async (req, res) =>
            await res.Ok(await mediator.Send(new ReleaseTicket.Command(AgentNames.Operator, req.RouteLong("id"), ByOperator: true), req.HttpContext.RequestAborted)));
    }

    private sealed record CreateBody(string? Title, string? Body, string? Workflow, int? Priority, IReadOnlyList<string>? Labels, IReadOnlyList<long>? DependsOn);

    private sealed record PatchBody(string? Note, string? Title, string? Body, int? Priority, IReadOnlyList<string>? Labels, IReadOnlyList<long>? DependsOn);

    private sealed record MoveBody(string? To);
}

/// <summary>The workflows in force and the files refused; the operator replaces one (validated before it is committed) or reloads them.</summary>
public sealed class WorkflowsModule : CarterModule
{
    public WorkflowsModule(IMediator mediator) : base("/api/workflows")
    {
        Get("/", async (req, res) => await res.Ok(await mediator.Send(new ReadWorkflows.Query(), req.HttpContext.RequestAborted)));

        Put("/{name}", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<PutBody>();
            await res.Ok(await mediator.Send(new PutWorkflow.Command(req.RouteValues["name"]?.ToString() ?? "", body.Yaml), req.HttpContext.RequestAborted));
        });

        Post("/reload", async (req, res) => await res.Ok(await mediator.Send(new LoadWorkflows.Command(), req.HttpContext.RequestAborted)));
    }

    private sealed record PutBody(string? Yaml);
}

/// <summary>The conflict risks the radar holds open now.</summary>
public sealed class ConflictRisksModule : CarterModule
{
    public ConflictRisksModule(IMediator mediator) : base("/api/conflict-risks") =>
        Get("/", async (req, res) => await res.Ok(await mediator.Send(new Radar.ListConflictRisks.Query(), req.HttpContext.RequestAborted)));
}
