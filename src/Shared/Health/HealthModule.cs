using Carter;
using Hive.Contracts.Json;
using Hive.Shared.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Shared.Health;

/// <summary>
/// <c>GET /healthz</c>: open (no sign-in) and without any of the hive's data: <c>{"status":"ok"}</c>, or
/// <c>{"status":"degraded","reason":…,"code":…,"since":…,"last_error_at":…}</c> while storage fails. Always 200:
/// a degraded host still serves reads and its agents; the body says what is wrong.
/// </summary>
public sealed class HealthModule : CarterModule
{
    public HealthModule()
    {
        Get("/healthz", async (req, res) =>
        {
            var fault = req.HttpContext.RequestServices.GetRequiredService<StorageHealth>().Fault;
            object body = fault is null
                ? new Healthy("ok")
                : new Degraded("degraded", $"{fault.Code}: {fault.Error}", fault.Code,
                    UtcTimestamp.Format(fault.Since), UtcTimestamp.Format(fault.LastAt), fault.Count);
            res.Headers.CacheControl = "no-store";
            await res.Ok(body);
        });
    }

    private sealed record Healthy(string Status);

    private sealed record Degraded(string Status, string Reason, string Code, string Since, string LastErrorAt, long Failures);
}
