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
        return services;
    }
}

/// <summary>The snapshot's <c>reminders</c>, and each agent row's <c>pending_reminders</c>.</summary>
internal sealed class RemindersStateContributor(IMediator mediator) : IDashboardStateContributor
{
    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        var reminders = await mediator.Send(new ListReminders.Query(), cancellationToken);
        state.Set("reminders", reminders);
        var pending = reminders.GroupBy(r => r.Agent).ToDictionary(g => g.Key, g => (long)g.Count());
        foreach (var agent in state.Get<List<Dictionary<string, object?>>>("agents"))
            agent["pending_reminders"] = pending.GetValueOrDefault((string)agent["name"]!);
    }
}
