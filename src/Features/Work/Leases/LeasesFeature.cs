using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Work.Leases;

public static class LeasesFeature
{
    /// <summary>The leases' options, their sweep and their part of the snapshot (verbs, routes and handlers are found by scan).</summary>
    public static IServiceCollection AddLeases(this IServiceCollection services)
    {
        services.AddOptions<LeaseOptions>().BindConfiguration(LeaseOptions.Section)
            .Validate(o => o.DefaultTtlSeconds is >= 1 and <= LeaseRules.MaxTtlSeconds && o.MaxPerAgent is >= 1 and <= 100_000,
                "Hive:Work:Leases: DefaultTtlSeconds 1 to 86400, MaxPerAgent 1 to 100000")
            .ValidateOnStart();
        services.AddSingleton<LeaseSweeper>();
        services.AddHostedService(p => p.GetRequiredService<LeaseSweeper>());
        services.AddTransient<IDashboardStateContributor, LeasesStateContributor>();
        return services;
    }
}

/// <summary>The snapshot's <c>leases</c>: every live lease, as <c>GET /api/leases</c> and <c>leases_changed</c> carry them.</summary>
internal sealed class LeasesStateContributor(IMediator mediator) : IDashboardStateContributor
{
    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken) =>
        state.Set("leases", await mediator.Send(new ListLeases.Query(), cancellationToken));
}
