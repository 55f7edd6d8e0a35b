using Hive.Shared.Constellation;
using Hive.Shared.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Constellation;

public static class ConstellationFeature
{
    /// <summary>
    /// Cross-hive mail over RabbitMQ. The settings are checked here, while the host is built, so a bad one stops it with
    /// one line; with no name configured nothing runs and an address with <c>@</c> names no one, as before.
    /// </summary>
    public static IServiceCollection AddConstellation(this IServiceCollection services, IConfiguration configuration)
    {
        var (options, credentials) = ConstellationSettings.Load(configuration);
        services.AddSingleton(options);
        services.AddSingleton<MailOutboxSignal>();
        services.AddTransient<Hive.Shared.Dashboard.IDashboardStateContributor, ReadConstellation.StateContributor>();
        if (!options.Enabled) return services;
        services.AddSingleton<IConstellation>(new ConstellationName(options.Name!));
        services.AddSingleton(p => new BrokerLink(options, credentials!, p.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ConstellationState>();
        services.AddSingleton<HearHeartbeat.RefusedBeats>();
        services.AddHiveMetrics<ConstellationMetrics>();
        // In this order: the name is checked against the recorded one before any mail moves.
        services.AddHostedService<HiveIdentity>();
        services.AddHostedService<OutboxRelay>();
        services.AddHostedService<InboxConsumer>();
        services.AddHostedService<HeartbeatLoop>();
        services.AddHostedService<ConstellationWatch>();
        return services;
    }
}

internal sealed class ConstellationName(string name) : IConstellation
{
    public string? HiveName => name;
}
