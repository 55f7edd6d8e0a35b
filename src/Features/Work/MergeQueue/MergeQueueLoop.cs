using Hive.Contracts.Work;
using Hive.Shared.Data;
using Hive.Shared.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work.MergeQueue;

/// <summary>
/// The merge queues' one loop, woken when a ticket enters a queue and every second or so besides: first (once per host
/// life) it settles the batches a stopped host left running (<see cref="BatchRunner.ResumeAsync"/>); it keeps the forge's
/// pull requests beside the queue (<see cref="QueuePullRequests"/>, before and after the batches); then, for each
/// repository not paused, once <c>MaxBatchSize</c> tickets are queued or the oldest has waited <c>BatchWaitSeconds</c>, it
/// runs a batch of the oldest tickets of one workflow (its check is that workflow's). One batch at a time, across
/// repositories: a check is the heaviest thing the hive runs.
/// </summary>
internal sealed class MergeQueueLoop(IDb db, BatchRunner runner, QueuePullRequests pullRequests, WorkflowCatalog catalog, IOptions<WorkOptions> options, TimeProvider clock,
    ILogger<MergeQueueLoop> logger)
    : TriggeredBackgroundService(new WakeSignal(), TimeSpan.FromSeconds(Math.Clamp(options.Value.MergeQueue.BatchWaitSeconds / 2, 1, 5)), passAtStart: true, clock, logger)
{
    private bool _resumed;

    /// <summary>Tickets already said to wait on a workflow that no longer names their repository (said once each).</summary>
    private readonly HashSet<long> _stranded = [];

    protected override async Task PassAsync(CancellationToken stoppingToken)
    {
        if (!_resumed)
        {
            List<MergeBatch> running;
            using (var connection = db.Open()) running = QueueRows.Running(connection, null);
            await runner.ResumeAsync(running, stoppingToken);
            _resumed = true;
        }
        await pullRequests.PassAsync(stoppingToken);
        var settings = options.Value.MergeQueue;
        var ran = false;
        while (!stoppingToken.IsCancellationRequested && Next(settings) is var (workflow, tickets))
        {
            await runner.RunAsync(workflow, tickets, stoppingToken);
            ran = true;
        }
        if (ran) await pullRequests.PassAsync(stoppingToken);
    }

    /// <summary>The next batch due: its workflow and tickets; null when none is.</summary>
    private (Workflow, IReadOnlyList<long>)? Next(MergeQueueOptions settings)
    {
        List<QueueRows.EntryRow> live;
        HashSet<string> paused;
        using (var connection = db.Open())
        {
            live = QueueRows.Live(connection, null);
            paused = QueueRows.Pauses(connection, null).Select(p => p.Repository).ToHashSet(StringComparer.OrdinalIgnoreCase);
        }
        var now = Clock.GetUtcNow();
        foreach (var repository in live.Where(e => e.State == MergeQueueEntry.Queued).GroupBy(e => e.Repository, StringComparer.OrdinalIgnoreCase))
        {
            if (paused.Contains(repository.Key)) continue;
            var oldest = repository.First();
            if (catalog.Find(oldest.Workflow) is not { Repository: { } named } workflow || !string.Equals(named, repository.Key, StringComparison.OrdinalIgnoreCase))
            {
                if (_stranded.Add(oldest.TicketId))
                    logger.LogWarning("merge queue: ticket {Ticket} waits: its workflow {Workflow} no longer names {Repository} (remove it from the queue)",
                        oldest.TicketId, oldest.Workflow, repository.Key);
                continue;
            }
            var batch = repository.Where(e => e.Workflow == oldest.Workflow).Take(settings.MaxBatchSize).Select(e => e.TicketId).ToList();
            if (batch.Count < settings.MaxBatchSize && now - oldest.EnqueuedAt < TimeSpan.FromSeconds(settings.BatchWaitSeconds)) continue;
            return (workflow, batch);
        }
        return null;
    }
}
