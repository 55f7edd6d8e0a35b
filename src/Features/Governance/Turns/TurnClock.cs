using Hive.Shared.Audit;
using Hive.Shared.Hosting;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// Governance's clock, once a second (the first tick at start-up also catches up with what the previous host left: see
/// <see cref="CatchUpAsync"/>): a turn over its time limit is told to stop; a turn told to stop whose grace has
/// run out is ended by the host; a quota circuit, or an agent's own quota hold, whose <c>until</c> has come ends; and the
/// queue is pumped (a new UTC day or month may have lifted a budget hold).
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

        if (CompletedTicks == 0) await CatchUpAsync(services, state, mediator, now, stoppingToken);

        var limit = TimeSpan.FromMinutes(options.Value.MaxTurnMinutes);
        admission.Revoke(s => s.TurnId > 0 && now - s.GrantedAt > limit, TurnEndReasons.MaxTurnMinutes, now + grace);
        foreach (var slot in admission.Snapshot().Running.Where(s => s.TurnId > 0 && s.Stop is { } stop && stop.Deadline <= now))
            await mediator.Send(new EndTurn.Command(slot.TurnId, slot.Stop!.Value.Reason), stoppingToken);
        await StallRule.CheckAsync(mediator, admission, options.Value, now, logger, stoppingToken);
        foreach (var circuit in state.Circuits.Where(c => c.Until <= now))
            await mediator.Send(new ClearQuotaCircuit.Command(circuit.Provider, Actor.Hive, OnlyIfExpired: true), stoppingToken);
        if (state.EndedQuotaHolds(now).Count > 0) await mediator.Send(new LiftQuotaHolds.Command(), stoppingToken);
        state.Budgets.Prune(now);
        admission.Pump();
    }

    /// <summary>
    /// What a host that died left undone: the turns it had granted are ended (their connections died with it), and a budget
    /// or watchdog question answered just before it died, whose answer it never applied, is applied now.
    /// </summary>
    private static async Task CatchUpAsync(IServiceProvider services, GovernanceState state, IMediator mediator, DateTimeOffset now, CancellationToken ct)
    {
        await services.GetRequiredService<Hive.Shared.Changes.StateChanges>().RunAsync(services.GetRequiredService<IServiceScopeFactory>(), (change, _) =>
        {
            change.Execute("UPDATE governed_turns SET ended_at = @now, end_reason = 'host_restart' WHERE ended_at IS NULL AND granted_at < @BootedAt",
                new { now, state.BootedAt });
            return Task.CompletedTask;
        }, ct);
        using var connection = services.GetRequiredService<Hive.Shared.Data.IDb>().Open();
        foreach (var id in Dapper.SqlMapper.Query<long>(connection, "SELECT question_id FROM budget_questions WHERE state = 'open'").ToList())
            if (await mediator.Send(new Hive.Features.Questions.ReadQuestion.Query(id), ct) is { Answer: { } answer } question)
                await mediator.Send(new ApplyBudgetAnswer.Command(id, answer, question.Answerer ?? Hive.Shared.Agents.AgentNames.Operator), ct);
        foreach (var id in Dapper.SqlMapper.Query<long>(connection, "SELECT question_id FROM watchdog_questions WHERE state = 'open'").ToList())
            if (await mediator.Send(new Hive.Features.Questions.ReadQuestion.Query(id), ct) is { Answer: { } answer })
                await mediator.Send(new ApplyWatchdogAnswer.Command(id, answer), ct);
    }
}
