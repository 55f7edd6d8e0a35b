using Carter;
using Hive.Shared.Audit;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Governance;

/// <summary>The operator's interventions: the list and a revert. Routing only.</summary>
public sealed class InterventionsModule : CarterModule
{
    public InterventionsModule(IMediator mediator) : base("/api/interventions")
    {
        Get("/", async (req, res) =>
        {
            await res.Ok(await mediator.Send(new ListInterventions.Query(req.Query["agent"].FirstOrDefault(), req.Query["actor"].FirstOrDefault(), Since(req),
                req.QueryLong("before"), (int)Math.Clamp(req.QueryLong("limit") ?? ListInterventions.DefaultLimit, 0, int.MaxValue)), req.HttpContext.RequestAborted));
        });

        Post("/{id}/revert", async (req, res) =>
            await res.Ok(await mediator.Send(new RevertIntervention.Command(req.RouteLong("id"), Actor.Operator), req.HttpContext.RequestAborted)));
    }

    /// <summary>An ISO-8601 <c>since</c> from the query string, or null; anything else is a 400.</summary>
    internal static DateTimeOffset? Since(HttpRequest req) =>
        req.Query["since"].FirstOrDefault() is { } text
            ? DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
                ? at : throw new Hive.Shared.Errors.BadRequestException("since must be an ISO-8601 time")
            : null;
}
