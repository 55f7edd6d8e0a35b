using Carter;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Containers;

/// <summary>The operator's approvals (list, approve, deny): routing only.</summary>
public sealed class ApprovalsModule : CarterModule
{
    public ApprovalsModule(IMediator mediator)
    {
        Get("/api/approvals", async (req, res) =>
            await res.Ok(await mediator.Send(new ListApprovals.Query(req.Query["status"].FirstOrDefault(), req.QueryLong("before"), req.QueryLong("limit")),
                req.HttpContext.RequestAborted)));

        Post("/api/approvals/{id}/approve", async (req, res) =>
            await res.Ok(await mediator.Send(new ApproveApproval.Command(req.RouteLong("id"), (await DecisionAsync(req)).Reason), req.HttpContext.RequestAborted)));

        Post("/api/approvals/{id}/deny", async (req, res) =>
            await res.Ok(await mediator.Send(new DenyApproval.Command(req.RouteLong("id"), (await DecisionAsync(req)).Reason), req.HttpContext.RequestAborted)));

        // The operator's secrets: names and dates out, values only in (never answered back).
    }

    /// <summary>A decision's body: optional (an empty body is fine, whatever its content type), <c>{reason}</c> when given.</summary>
    private static async Task<DecisionBody> DecisionAsync(HttpRequest req) =>
        req.ContentLength == 0 || (req.ContentLength is null && !req.HasJsonContentType()) ? new DecisionBody(null) : await req.ReadBodyAsync<DecisionBody>();

    private sealed record DecisionBody(string? Reason);
}
