using Carter;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Shared.Backup;

/// <summary>The operator's backup route (<see cref="TakeBackup"/>): routing only.</summary>
public sealed class BackupModule : CarterModule
{
    public BackupModule(IMediator mediator) : base("/api/backup")
    {
        Post("/", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<BackupBody>();
            await res.Ok(await mediator.Send(new TakeBackup.Command(body.To), req.HttpContext.RequestAborted));
        });
    }

    private sealed record BackupBody(string? To);
}
