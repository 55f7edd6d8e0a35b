using System.Reflection;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Metrics;
using Hive.Shared.Socket;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
        services.AddSingleton<WalCheckpointer>();
        services.AddHostedService(p => p.GetRequiredService<WalCheckpointer>());
        services.AddSingleton<StateChanges>();
        services.AddSingleton<Health.StorageHealth>();
        return services;
    }

    public static IServiceCollection AddHiveDashboard(this IServiceCollection services)
    {
        services.AddSingleton<DashboardHub>();
        services.AddSingleton<EventStreamClients>();
        services.AddSingleton<ColdLoads>();
        services.AddSingleton<IStateChangeGate, StateChangeGate>();
        services.AddTransient<IDashboardStateContributor, AgentsStateContributor>();
        services.AddTransient<AgentRows>();
        services.AddHiveMetrics<Metrics.SharedMetrics>();
        return services;
    }

    /// <summary>
    /// The live agent directory (seeded from the registry by <see cref="PrepareHiveStorage"/>) and the agents' sockets,
    /// which follow it.
    /// </summary>
    public static IServiceCollection AddHiveAgents(this IServiceCollection services, IEnumerable<Assembly> assemblies)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HiveOptions>, SocketFileMode.Validation>());
        services.AddOptions<HiveOptions>().ValidateOnStart();
        services.AddSingleton(p =>
        {
            return new AgentDirectory(p.GetRequiredService<HivePaths>(), p.GetRequiredService<StateChanges>(),
                p.GetRequiredService<IServiceScopeFactory>(), p.GetRequiredService<ILogger<AgentDirectory>>());
        });
        services.AddSingleton<IAgentDirectory>(p => p.GetRequiredService<AgentDirectory>());
        services.TryAddSingleton<IRecipientPolicy, AnyoneMayReachAnyone>(); // Containers registers the configured one
        services.TryAddSingleton<IAgentTree, FlatAgentTree>(); // and the parent links
        services.TryAddSingleton<Budgets.IBudgetShares, Budgets.AnyShare>(); // Governance registers the budgets' check
        services.TryAddSingleton<IWorkHolds, NothingHeld>(); // Governance registers the real holds
        services.TryAddSingleton<Turns.ITurnLedger, Turns.NoTurnLedger>(); // and the ledger
        services.TryAddSingleton<Gateway.IAgentGateways, Gateway.NoAgentGateways>(); // the Gateway slice registers the real ones
        services.TryAddSingleton<Gateway.IModelCallFailures, Gateway.NoModelCallFailures>(); // and the failing streaks
        services.TryAddSingleton<Gateway.IHandoffBriefs, Gateway.NoHandoffBriefs>(); // and the handoff briefs
        services.TryAddSingleton<Audit.IAuditLog, Audit.NoAuditLog>(); // and the audit log
        services.TryAddSingleton<Search.ISearchIndex, Search.NoSearchIndex>(); // Search registers the real index
        services.TryAddSingleton<Constellation.IConstellation, Constellation.NoConstellation>(); // Constellation registers its name
        foreach (var type in assemblies.SelectMany(a => a.GetTypes())
                     .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(ISocketVerbs).IsAssignableFrom(t)))
            services.AddSingleton(typeof(ISocketVerbs), type);
        services.AddSingleton<SocketVerbRegistry>();
        services.AddSingleton<AgentSocketServer>();
        services.AddHostedService(p => p.GetRequiredService<AgentSocketServer>());
        return services;
    }

    /// <summary>
    /// Lays out the data dir, switches the database to WAL, applies every feature's migrations, then seeds the agent
    /// directory from the registry (<see cref="IAgentDirectorySeed"/>) and makes the start-up agents' state dirs (agents
    /// added later get theirs from <see cref="AgentDirectory.AddAsync"/>).
    /// Call it with the <see cref="DataDirLock"/> held. Anything it cannot do is a <see cref="Errors.HiveStartupException"/>
    /// whose one line names the path.
    /// </summary>
    public static void PrepareHiveStorage(this IServiceProvider services, IEnumerable<Assembly> assemblies)
    {
        var paths = services.GetRequiredService<HivePaths>();
        try
        {
            paths.EnsureCreated();
            var db = services.GetRequiredService<SqliteDb>();
            DatabaseGuard.BeforeOpen(paths);
            DatabaseFileModes.BeforeOpen(paths.Database);
            db.EnableWriteAheadLog();
            DatabaseFileModes.AfterWriteAheadLog(paths.Database);
            DatabaseGuard.BeforeMigrations(paths, db);
            Migrator.Migrate(db, assemblies, services.GetRequiredService<TimeProvider>());
            DatabaseGuard.AfterMigrations(paths, services.GetRequiredService<TimeProvider>());
            var agents = services.GetRequiredService<IAgentDirectorySeed>().ReadAtStartUp();
            services.GetRequiredService<AgentDirectory>().Seed(agents);
            foreach (var agent in agents) paths.EnsureAgentDirs(agent.Name);
        }
        catch (Exception e) when (DatabaseGuard.Describe(e, paths) is { } reason)
        {
            throw new Errors.HiveStartupException(reason, e);
        }
    }
}
