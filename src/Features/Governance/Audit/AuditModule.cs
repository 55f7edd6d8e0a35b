using Carter;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>The operator's audit log: routing only.</summary>
public sealed class AuditModule : CarterModule
{
    public AuditModule(IMediator mediator) =>
        Get("/api/audit", async (req, res) =>
            await res.Ok(await mediator.Send(new ListAuditLog.Query(req.Query["actor"].FirstOrDefault(), InterventionsModule.Since(req), req.QueryLong("before"),
                (int)Math.Clamp(req.QueryLong("limit") ?? ListAuditLog.DefaultLimit, 0, int.MaxValue)), req.HttpContext.RequestAborted)));
}
