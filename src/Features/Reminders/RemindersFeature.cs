using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Reminders;

public static class RemindersFeature
{
    public static IServiceCollection AddReminders(this IServiceCollection services)
    {
        services.AddOptions<RemindersOptions>().BindConfiguration("Hive:Reminders")
            .Validate(o => o.TickSeconds > 0 && o.MaxAttempts > 0, "Hive:Reminders:TickSeconds and MaxAttempts must be positive");
        services.AddSingleton<ReminderScheduler>();
        services.AddHostedService(p => p.GetRequiredService<ReminderScheduler>());
        services.AddTransient<IDashboardStateContributor, RemindersStateContributor>();
        services.AddTransient<AgentRowContributor, PendingRemindersOnAgentRows>();
        return services;
    }
}

/// <summary>The snapshot's <c>reminders</c>.</summary>
internal sealed class RemindersStateContributor(IMediator mediator) : IDashboardStateContributor
{
    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken) =>
        state.Set("reminders", await mediator.Send(new ListReminders.Query(), cancellationToken));
}

/// <summary>Each agent row's <c>pending_reminders</c> (one key lookup per agent).</summary>
internal sealed class PendingRemindersOnAgentRows(IMediator mediator) : AgentRowContributor<PendingRemindersFacts>
{
    protected override async Task<IReadOnlyDictionary<string, PendingRemindersFacts>> ReadAsync(
        IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        var facts = new Dictionary<string, PendingRemindersFacts>(StringComparer.Ordinal);
        foreach (var agent in agents)
            facts[agent.Name] = new PendingRemindersFacts(await mediator.Send(new CountPendingReminders.Query(agent.Name), cancellationToken));
        return facts;
    }
}

internal sealed record PendingRemindersFacts(long PendingReminders);
