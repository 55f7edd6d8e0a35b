using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Metrics;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Reminders;

public static class RemindersFeature
{
    public static IServiceCollection AddReminders(this IServiceCollection services)
    {
        services.AddOptions<RemindersOptions>().BindConfiguration("Hive:Reminders")
            .Validate(o => o.TickSeconds > 0 && o.MaxAttempts > 0 && o.MaxPendingPerAgent > 0 && o.MaxRecurringPerAgent > 0 && o.MissedAfterSeconds > 0,
                "Hive:Reminders:TickSeconds, MaxAttempts, MaxPendingPerAgent, MaxRecurringPerAgent and MissedAfterSeconds must be positive");
        services.AddSingleton<ReminderScheduler>();
        services.AddHostedService(p => p.GetRequiredService<ReminderScheduler>());
        services.AddTransient<IDashboardStateContributor, RemindersStateContributor>();
        services.AddTransient<AgentRowContributor, PendingRemindersOnAgentRows>();
        services.AddTransient<Hive.Shared.LooseEnds.LooseEndsSource, ReminderLooseEnds>();
        services.AddHiveMetrics<RemindersMetrics>();
        return services;
    }
}

/// <summary>
/// The snapshot's <c>reminders</c>: the <see cref="SnapshotCount"/> soonest (failed ones included), and
/// <c>reminders_total</c>, every pending reminder: the snapshot's size does not grow with a backlog; and every recurring
/// reminder (at most <c>MaxRecurringPerAgent</c> an agent).
/// </summary>
internal sealed class RemindersStateContributor(IMediator mediator) : IDashboardStateContributor
{
    public const int SnapshotCount = 100;

    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        var soonest = await mediator.Send(new ListSoonestReminders.Query(SnapshotCount), cancellationToken);
        state.Set("reminders", soonest.Reminders);
        state.Set("reminders_total", soonest.Total);
        state.Set("recurring_reminders", await mediator.Send(new ListRecurringReminders.Query(), cancellationToken));
    }
}

/// <summary>Each agent row's <c>pending_reminders</c> (one key lookup per agent).</summary>
internal sealed class PendingRemindersOnAgentRows(IMediator mediator) : AgentRowContributor<PendingRemindersFacts>
{
    protected override async Task<IReadOnlyDictionary<string, PendingRemindersFacts>> ReadAsync(
        IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        // One query for every row (the snapshot runs this under the gate), a key lookup for one.
        if (agents.Count == 1)
            return new Dictionary<string, PendingRemindersFacts>(StringComparer.Ordinal)
            {
                [agents[0].Name] = new(await mediator.Send(new CountPendingReminders.Query(agents[0].Name), cancellationToken)),
            };
        var counts = await mediator.Send(new CountPendingReminders.All(), cancellationToken);
        return agents.ToDictionary(a => a.Name, a => new PendingRemindersFacts(counts.GetValueOrDefault(a.Name)), StringComparer.Ordinal);
    }
}

internal sealed record PendingRemindersFacts(long PendingReminders);
