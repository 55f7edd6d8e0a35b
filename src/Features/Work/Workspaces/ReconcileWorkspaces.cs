using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work.Workspaces;

/// <summary>At start-up, once: <see cref="TicketWorkspaces.ReconcileAsync"/> (in the background: the host does not wait for git).</summary>
internal sealed class ReconcileWorkspaces(TicketWorkspaces workspaces, ILogger<ReconcileWorkspaces> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await workspaces.ReconcileAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "work: reconciling the workspaces at start-up failed (the next start tries again)");
        }
    }
}
