using Hive.Shared.Hosting;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// Governance's clock, once a second (the first tick at start-up also ends the turns the previous host left open: their
/// connections died with it): a turn over its time limit is told to stop; a turn told to stop whose grace has
/// run out is ended by the host; a quota circuit whose <c>until</c> has come closes; and the queue is pumped (a new UTC
/// day or month may have lifted a budget hold).
/// </summary>
internal sealed class TurnClock(IServiceScopeFactory scopes, IOptions<GovernanceOptions> options, TimeProvider clock, ILogger<TurnClock> logger)
    : PeriodicBackgroundService(scopes, TimeSpan.FromSeconds(1), clock, logger)
{
    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        var admission = services.GetRequiredService<Admission>();
        var state = services.GetRequiredService<GovernanceState>();
        var mediator = services.GetRequiredService<IMediator>();
        var grace = services.GetRequiredService<IOptions<StopGraceOptions>>().Value.StopGrace;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();

        if (CompletedTicks == 0)
            await services.GetRequiredService<Hive.Shared.Changes.StateChanges>().RunAsync(services.GetRequiredService<IServiceScopeFactory>(), (change, _) =>
            {
                change.Execute("UPDATE governed_turns SET ended_at = @now, end_reason = 'host_restart' WHERE ended_at IS NULL AND granted_at < @BootedAt",
                    new { now, state.BootedAt });
                return Task.CompletedTask;
            }, stoppingToken);

        var limit = TimeSpan.FromMinutes(options.Value.MaxTurnMinutes);
        admission.Revoke(s => s.TurnId > 0 && now - s.GrantedAt > limit, TurnEndReasons.MaxTurnMinutes, now + grace);
        foreach (var slot in admission.Snapshot().Running.Where(s => s.TurnId > 0 && s.Stop is { } stop && stop.Deadline <= now))
            await mediator.Send(new EndTurn.Command(slot.TurnId, slot.Stop!.Value.Reason), stoppingToken);
        foreach (var circuit in state.Circuits.Where(c => c.Until <= now))
            await mediator.Send(new ClearQuotaCircuit.Command(circuit.Provider, "hive"), stoppingToken);
        state.Budgets.Prune(now);
        admission.Pump();
    }
}
