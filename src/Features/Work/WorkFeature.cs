using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Work;

public static class WorkFeature
{
    public static IServiceCollection AddWork(this IServiceCollection services)
    {
        services.AddOptions<WorkOptions>().BindConfiguration(WorkOptions.Section)
            .Validate(o => o.OfferSeconds is >= 1 and <= 86_400 && o.SweepSeconds is >= 1 and <= 3600,
                "Hive:Work: OfferSeconds 1 to 86400, SweepSeconds 1 to 3600")
            .ValidateOnStart();
        services.AddSingleton<Workspaces.TicketWorkspaces>();
        services.AddHostedService<Workspaces.ReconcileWorkspaces>();
        return services;
    }
}
