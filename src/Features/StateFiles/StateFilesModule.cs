using Carter;
using MediatR;

namespace Hive.Features.StateFiles;

/// <summary>
/// Reads a state file for the operator. There is deliberately no route that says whether an arbitrary path exists
/// (the seed removed <c>/api/state-file/check</c> because it let any visitor map the filesystem).
/// </summary>
public sealed class StateFilesModule : CarterModule
{
    public StateFilesModule(IMediator mediator)
    {
        Get("/api/state-file", async (req, res) =>
        {
            var paths = req.Query["path"];
            var file = await mediator.Send(new ReadStateFile.Query(paths.Count == 1 ? paths[0] : null), req.HttpContext.RequestAborted);
            res.StatusCode = 200;
            res.ContentType = file.ContentType;
            res.ContentLength = file.Content.Length;
            res.Headers.XContentTypeOptions = "nosniff";
            res.Headers.ContentSecurityPolicy = "sandbox; default-src 'none'";
            res.Headers.CacheControl = "no-store";
            await res.Body.WriteAsync(file.Content, req.HttpContext.RequestAborted);
        });
    }
}
