using Carter;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Work.Leases;

/// <summary>The operator's lease routes: routing only.</summary>
public sealed class LeasesModule : CarterModule
{
    public LeasesModule(IMediator mediator) : base("/api/leases")
    {
        Get("/", async (req, res) => await res.Ok(await mediator.Send(new ListLeases.Query(), req.HttpContext.RequestAborted)));

        // The operator breaks a lease: one holder's, or (without holder) every lease on the resource.
        Delete("/", async (req, res) =>
        {
            var holder = req.Query["holder"].ToString();
            await res.Ok(await mediator.Send(
                new ReleaseLease.Command(req.Query["resource"].ToString(), holder.Length == 0 ? null : holder, ByOperator: true),
                req.HttpContext.RequestAborted));
        });
    }
}
