using Hive.Contracts.Constellation;
using Hive.Shared.Changes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Hive.Features.Constellation;

/// <summary>
/// Looks every heartbeat interval (at most every 5 s), broker or no broker: hives silent for 3 of their intervals become
/// unreachable; this hive's status goes to the dashboard when it changed; and the outbox alert is raised when the oldest
/// unsent row has waited past <c>OutboxAlertSeconds</c>, and lowered once nothing waits that long. Each in one change.
/// </summary>
internal sealed class ConstellationWatch(
    ConstellationOptions options, ConstellationState state, StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock)
    : BackgroundService
{
    private ConstellationStatus? _told;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = TimeSpan.FromSeconds(Math.Min(options.HeartbeatSeconds, 5));
        while (!stoppingToken.IsCancellationRequested)
        {
            await LookAsync(stoppingToken);
            try
            {
                await Task.Delay(every, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    internal async Task LookAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var status = await state.StatusAsync(cancellationToken);
        var backlogged = status.OldestUnsentAt is { } oldest && now - oldest > TimeSpan.FromSeconds(options.OutboxAlertSeconds);
        state.Last = status with { OutboxAlert = backlogged };
        var quiet = await state.GoneQuietAsync(now, cancellationToken);
        if (quiet.Count == 0 && backlogged == state.OutboxAlert && _told is not null && status.SameAs(_told)) return; // nothing to tell
        await changes.RunAsync(scopes, (change, _) =>
        {
            foreach (var hive in quiet)
            {
                // Unless a beat came meanwhile.
                if (change.Execute("UPDATE constellation_hives SET reachable = 0 WHERE name = @Name AND last_heard_at = @LastHeardAt AND reachable = 1", hive) == 1)
                    change.Raise(new ConstellationHiveChanged(hive with { Reachable = false }));
            }
            if (backlogged != state.OutboxAlert)
            {
                state.OutboxAlert = backlogged;
                change.OnRolledBack(() => state.OutboxAlert = !backlogged);
                change.Raise(backlogged ? new ConstellationOutboxBacklogged(status.OutboxDepth, status.OldestUnsentAt!.Value) : new ConstellationOutboxDrained());
                status = status with { OutboxAlert = backlogged };
            }
            if (_told is null || !status.SameAs(_told))
            {
                change.Raise(new ConstellationStatusChanged(status));
                var told = status;
                change.AfterPublished(() => _told = told);
            }
            return Task.CompletedTask;
        }, cancellationToken);
    }
}
