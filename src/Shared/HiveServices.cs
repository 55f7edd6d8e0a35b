using System.Reflection;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Socket;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hive.Shared;

/// <summary>The shared kernel's registrations, called from the Host's composition root.</summary>
public static class HiveServices
{
    /// <summary>Paths, the database, Dapper's global setup and the migrator's inputs.</summary>
    public static IServiceCollection AddHiveData(this IServiceCollection services)
    {
        DapperSetup.Configure();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(p => new HivePaths(p.GetRequiredService<IOptions<HiveOptions>>().Value.DataDir));
        services.AddSingleton(p => new SqliteDb(
            p.GetRequiredService<HivePaths>().Database,
            p.GetRequiredService<IOptions<HiveOptions>>().Value.Database.Synchronous.ToUpperInvariant()));
        services.AddSingleton<IDb>(p => p.GetRequiredService<SqliteDb>());
        return services;
    }

    public static IServiceCollection AddHiveDashboard(this IServiceCollection services)
    {
        services.AddSingleton<DashboardHub>();
        services.AddSingleton<StateChangeGate>();
        services.AddTransient<IDashboardStateContributor, AgentsStateContributor>();
        return services;
    }

    /// <summary>The configured agent registry (until Containers replaces it) and the agents' sockets.</summary>
    public static IServiceCollection AddHiveAgents(this IServiceCollection services, IEnumerable<Assembly> assemblies)
    {
        services.AddSingleton<IAgentDirectory, ConfiguredAgentDirectory>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes())
                     .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(ISocketVerbs).IsAssignableFrom(t)))
            services.AddSingleton(typeof(ISocketVerbs), type);
        services.AddSingleton<SocketVerbRegistry>();
        services.AddSingleton<AgentSocketServer>();
        services.AddHostedService(p => p.GetRequiredService<AgentSocketServer>());
        return services;
    }

    /// <summary>Lays out the data dir, switches the database to WAL and applies every feature's migrations.</summary>
    public static void PrepareHiveStorage(this IServiceProvider services, IEnumerable<Assembly> assemblies)
    {
        var paths = services.GetRequiredService<HivePaths>();
        paths.EnsureCreated();
        foreach (var agent in services.GetRequiredService<IAgentDirectory>().List())
            paths.EnsureAgentDirs(agent.Name);
        var db = services.GetRequiredService<SqliteDb>();
        DatabaseFileModes.BeforeOpen(db.DatabasePath);
        db.EnableWriteAheadLog();
        DatabaseFileModes.AfterWriteAheadLog(db.DatabasePath);
        Migrator.Migrate(db, assemblies, services.GetRequiredService<TimeProvider>());
    }
}
