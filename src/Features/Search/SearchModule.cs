using Carter;
using Hive.Shared.Errors;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Search;

/// <summary>The operator's search route: routing only.</summary>
public sealed class SearchModule : CarterModule
{
    public SearchModule(IMediator mediator)
    {
        Get("/api/search", async (req, res) =>
            await res.Ok(await mediator.Send(new FindText.Query(
                    One(req, "q") ?? "", One(req, "agent"), One(req, "kind"), req.QueryLong("before"),
                    (int)Math.Min(req.QueryLong("limit") ?? FindText.DefaultLimit, int.MaxValue)),
                req.HttpContext.RequestAborted)));
    }

    /// <summary>An optional text parameter, given at most once (a repeated one is a 400, not a silent pick).</summary>
    private static string? One(HttpRequest req, string name)
    {
        var raw = req.Query[name];
        if (raw.Count > 1) throw new BadRequestException($"query parameter '{name}' must be given once");
        return raw.Count == 0 || string.IsNullOrEmpty(raw[0]) ? null : raw[0];
    }
}
