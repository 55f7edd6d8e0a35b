using Carter;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Governance;

/// <summary>The operator's governance: the view, halt and resume, pause, a turn ended by hand, budgets, quota circuits. Routing only.</summary>
public sealed class GovernanceModule : CarterModule
{
    public GovernanceModule(IMediator mediator) : base("/api/governance")
    {
        Get("/", async (req, res) => await res.Ok(await mediator.Send(new ReadGovernance.Query(), req.HttpContext.RequestAborted)));

        Post("/halt", async (req, res) =>
            await res.Ok(await mediator.Send(new HaltHive.Command(Actor.Operator, (await OptionalAsync<HaltBody>(req))?.Reason), req.HttpContext.RequestAborted)));

        Post("/resume", async (req, res) =>
            await res.Ok(await mediator.Send(new ResumeHive.Command(Actor.Operator), req.HttpContext.RequestAborted)));

        Post("/agents/{name}/pause", async (req, res) =>
            await res.Ok(await mediator.Send(new PauseAgent.Command(Name(req), Actor.Operator, Subtree: Subtree(req)), req.HttpContext.RequestAborted)));

        Post("/agents/{name}/resume", async (req, res) =>
            await res.Ok(await mediator.Send(new ResumeAgent.Command(Name(req), Actor.Operator, Subtree: Subtree(req)), req.HttpContext.RequestAborted)));

        Post("/turns/{id}/end", async (req, res) =>
            await res.Ok(await mediator.Send(new EndTurnByHand.Command(req.RouteLong("id"), Actor.Operator, (await OptionalAsync<HaltBody>(req))?.Reason),
                req.HttpContext.RequestAborted)));

        Put("/budgets/{scope}", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<BudgetBody>();
            await res.Ok(await mediator.Send(new SetBudget.Command(req.RouteValues["scope"]?.ToString() ?? "",
                body.DailyUsd, body.MonthlyUsd, body.DailyTokens, body.MonthlyTokens, Actor.Operator), req.HttpContext.RequestAborted));
        });

        Delete("/circuits/{provider}", async (req, res) =>
        {
            await mediator.Send(new ClearQuotaCircuit.Command(req.RouteValues["provider"]?.ToString() ?? "", Actor.Operator), req.HttpContext.RequestAborted);
            await res.Ok(await mediator.Send(new ReadGovernance.Query(), req.HttpContext.RequestAborted));
        });
    }

    private static string Name(HttpRequest req) => req.RouteValues["name"]?.ToString() ?? "";

    /// <summary><c>?subtree=true</c>: the agent and everything under it.</summary>
    private static bool Subtree(HttpRequest req) => req.QueryFlag("subtree");

    /// <summary>An optional body: none (whatever its content type) is null.</summary>
    private static async Task<T?> OptionalAsync<T>(HttpRequest req) where T : class =>
        req.ContentLength == 0 || (req.ContentLength is null && !req.HasJsonContentType()) ? null : await req.ReadBodyAsync<T>();

    /// <summary>An optional reason, recorded with the intervention.</summary>
    private sealed record HaltBody(string? Reason);

    /// <summary>The four caps (absent or null: none of that kind); any other member is refused, so a misspelt cap never clears them all.</summary>
    [System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
    private sealed record BudgetBody(double? DailyUsd, double? MonthlyUsd, long? DailyTokens, long? MonthlyTokens);
}
