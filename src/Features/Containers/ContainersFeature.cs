using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

public static class ContainersFeature
{
    public static IServiceCollection AddContainers(this IServiceCollection services)
    {
        Hive.Shared.Data.DapperSetup.AddJsonColumn<Hive.Contracts.Agents.AgentPermissions>();
        Hive.Shared.Data.DapperSetup.AddJsonColumn<Hive.Contracts.Agents.AgentSpawnLimits>();
        services.AddOptions<ContainersOptions>().BindConfiguration("Hive:Containers")
            .Validate(o => o.StopGraceSeconds >= 0 && o.MaxRestarts >= 0 && o.RestartWindowMinutes > 0 && o.RestartBackoffSeconds >= 0
                           && o.MaxRestartBackoffSeconds >= o.RestartBackoffSeconds && o.LogBytes > 0,
                "Hive:Containers: StopGraceSeconds, MaxRestarts, RestartWindowMinutes, RestartBackoffSeconds, LogBytes must be positive")
            .Validate(o => o.Driver is DriverCatalog.Auto or "process" or "bubblewrap" or "nixos-container",
                "Hive:Containers:Driver must be auto, process, bubblewrap or nixos-container")
            .Validate(o => o.NixosContainer.Path.Length > 0 && o.NixosContainer.PollSeconds > 0 && o.NixosContainer.TimeoutSeconds > 0,
                "Hive:Containers:NixosContainer: Path must not be empty; PollSeconds and TimeoutSeconds must be positive")
            .Validate(o => o.AgentUidBase >= 1000 && o.AgentUidBase <= 4_000_000_000,
                "Hive:Containers:AgentUidBase must be between 1000 and 4000000000 (agents' uids are above it)")
            .Validate(o => o.JobUid is null || (o.JobUid >= 1000 && o.JobUid < o.AgentUidBase),
                "Hive:Containers:JobUid must be between 1000 and AgentUidBase - 1 (agents' uids are AgentUidBase and above)")
            .Validate(o => o.JobWorkBytes >= 1024 * 1024, "Hive:Containers:JobWorkBytes must be at least 1048576 (1 MiB)")
            .Validate(o => Runtime.ResourceLimits.ProblemWith(o.Limits.MemoryMiB, o.Limits.CpuPercent, o.Limits.Pids, "") is null,
                $"Hive:Containers:Limits: MemoryMiB must be between {ResourceLimits.MinMemoryMib} and {ResourceLimits.MaxMemoryMib}, "
                + $"CpuPercent between 1 and {ResourceLimits.MaxCpuPercent}, Pids between 1 and {ResourceLimits.MaxPids}")
            .Validate(o => o.UsageSeconds >= 0.1 && o.UsageSeconds <= 3600, "Hive:Containers:UsageSeconds must be between 0.1 and 3600")
            .Validate(o => o.TombstoneRetainDays is null or (>= 0 and <= 36_500),
                "Hive:Containers:TombstoneRetainDays must be between 0 (off) and 36500")
            .Validate(o => o.TombstoneSweepMinutes >= 0.01 && o.TombstoneSweepMinutes <= 10_080,
                "Hive:Containers:TombstoneSweepMinutes must be between 0.01 and 10080 (a week)")
            .ValidateOnStart();
        services.AddOptions<MetaOptions>().BindConfiguration("Hive:Meta")
            .Validate(o => o.MaxInputBytes > 0 && o.InputTimeoutSeconds > 0, "Hive:Meta: MaxInputBytes and InputTimeoutSeconds must be positive")
            .ValidateOnStart();
        services.AddSingleton<AllowedRecipients>();
        services.AddSingleton<IRecipientPolicy>(p => p.GetRequiredService<AllowedRecipients>());
        services.AddSingleton<IAgentTree, AgentParents>();
        services.AddSingleton<AgentRegistry>();
        services.AddSingleton<MetaRepo>();
        services.AddSingleton<MetaProposals>();
        services.AddSingleton<MetaInputs>();
        services.AddSingleton<ConfigProblems>();
        services.AddSingleton<SecretStore>();
        services.AddOptions<Presets.PresetsOptions>().BindConfiguration("Hive:Presets");
        services.AddSingleton<Presets.AgentPresets>();
        services.AddTransient<Templates.TemplatePlan>();
        services.AddSingleton<IAgentDirectorySeed>(p => p.GetRequiredService<AgentRegistry>());
        services.AddSingleton<ProcessLauncher>();
        services.AddSingleton(p => new AgentCgroups(p.GetRequiredService<Hive.Shared.HivePaths>().DataDir,
            p.GetRequiredService<IOptions<ContainersOptions>>().Value.CgroupRoot, p.GetRequiredService<ILogger<AgentCgroups>>()));
        services.AddSingleton(p => new AgentUsers(p.GetRequiredService<Hive.Shared.HivePaths>(), p.GetRequiredService<IOptions<ContainersOptions>>(),
            p.GetRequiredService<ILogger<AgentUsers>>()));
        services.AddSingleton(p => new AgentTools(p.GetRequiredService<Hive.Shared.HivePaths>(), p.GetRequiredService<ILogger<AgentTools>>()));
        services.TryAddSingleton<Hive.Shared.Egress.IAgentEgress, Hive.Shared.Egress.NoAgentEgress>(); // the Egress slice registers the real one
        services.AddSingleton(p => new ProcessDriverServices(p.GetRequiredService<ProcessLauncher>(), p.GetRequiredService<TimeProvider>(),
            p.GetRequiredService<IOptions<ContainersOptions>>(), p.GetRequiredService<AgentCgroups>(), p.GetRequiredService<AgentUsers>(),
            p.GetRequiredService<Hive.Shared.HivePaths>(), p.GetRequiredService<AgentTools>(), p.GetRequiredService<Hive.Shared.Gateway.IAgentGateways>(),
            p.GetRequiredService<Hive.Shared.Egress.IAgentEgress>()));
        services.AddSingleton<IContainerDriver>(p => new ProcessDriver(p.GetRequiredService<ProcessDriverServices>()));
        services.AddSingleton<IContainerDriver>(p => new BubblewrapDriver(p.GetRequiredService<ProcessDriverServices>()));
        services.AddSingleton<IContainerDriver>(p => new NixosContainerDriver(
            p.GetRequiredService<IOptions<ContainersOptions>>(), p.GetRequiredService<TimeProvider>(), p.GetRequiredService<ILogger<NixosContainerDriver>>()));
        services.AddSingleton<DriverCatalog>();
        services.AddSingleton<AgentTurns>();
        services.AddSingleton<AgentSteps>();
        services.AddSingleton<AgentProcesses>();
        services.AddSingleton<Terminal.OpenTerminal.Handler>();
        services.AddSingleton<CrashWatch>();
        services.AddHiveMetrics<ContainersMetrics>();
        services.AddSingleton<BackgroundRequests>();
        services.AddSingleton<AgentsStartUp>();
        services.AddHostedService(p => p.GetRequiredService<AgentsStartUp>());
        services.AddSingleton<AgentUsageLoop>();
        services.AddHostedService(p => p.GetRequiredService<AgentUsageLoop>());
        services.AddOptions<ApprovalsOptions>().BindConfiguration("Hive:Approvals")
            .Validate(o => o.TimeoutMinutes >= 0 && o.MaxPendingPerRequester > 0,
                "Hive:Approvals:TimeoutMinutes must not be negative and MaxPendingPerRequester must be positive").ValidateOnStart();
        services.AddHostedService<DenyStaleApprovals>();
        services.AddTransient<IDashboardStateContributor, PendingApprovalsStateContributor>();
        services.AddTransient<AgentRowContributor, ContainerFactsOnAgentRows>();
        services.AddTransient<AgentRowContributor, ResourceFactsOnAgentRows>();
        services.AddTransient<AgentRowContributor, ModelCallFactsOnAgentRows>();
        services.AddTransient<IDashboardStateContributor, TombstonesStateContributor>();
        services.AddTransient<Hive.Shared.Backup.IBackupPart, SecretsBackup>();
        services.AddTransient<Hive.Shared.Backup.IBackupPart, MetaBackup>();
        services.AddSingleton<TombstoneRetention>();
        services.AddSingleton<TombstoneGitWork>();
        services.AddSingleton<TombstoneSweeper>();
        services.AddHostedService(p => p.GetRequiredService<TombstoneSweeper>());
        services.AddTransient<IDashboardStateContributor, SecretsStateContributor>();
        return services;
    }
}

/// <summary>Each agent row's container facts: driver, desired, state, transient, pid, restarts, last exit, ...</summary>
internal sealed class ContainerFactsOnAgentRows(AgentRegistry registry, ConfigProblems problems) : AgentRowContributor<ContainerFacts>
{
    protected override Task<IReadOnlyDictionary<string, ContainerFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        var records = agents.Count == 1
            ? (registry.Find(agents[0].Name) is { } one ? [one] : [])
            : registry.All();
        var byName = records.ToDictionary(r => r.Name, r => r.ToFacts(problems.Of(r.Name)), StringComparer.Ordinal);
        // A directory member the registry does not have (added to the kernel's directory directly, as its own tests do) can
        // only be an agent someone else runs: it shows as external.
        foreach (var agent in agents.Where(a => !byName.ContainsKey(a.Name)))
            byName[agent.Name] = new AgentRecord { Name = agent.Name, State = States.Running, Desired = DesiredStates.Running }.ToFacts();
        return Task.FromResult<IReadOnlyDictionary<string, ContainerFacts>>(byName);
    }
}

/// <summary>The snapshot's <c>tombstones</c>.</summary>
internal sealed class TombstonesStateContributor(AgentRegistry registry) : IDashboardStateContributor
{
    public Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        var changed = registry.TombstonesNow();
        state.Set("tombstones", changed.Tombstones);
        state.Set("tombstone_retention", changed.Retention);
        return Task.CompletedTask;
    }
}

/// <summary>The snapshot's <c>approvals</c>: the pending ones, newest first.</summary>
internal sealed class PendingApprovalsStateContributor(MediatR.IMediator mediator) : IDashboardStateContributor
{
    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken) =>
        state.Set("approvals", await mediator.Send(new ListApprovals.Query(ApprovalStatuses.Pending, null, ListApprovals.MaxLimit), cancellationToken));
}

/// <summary><c>/api/state</c> <c>secrets</c>: the operator's secrets by name and date (never a value).</summary>
internal sealed class SecretsStateContributor(SecretStore secrets) : IDashboardStateContributor
{
    public Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        state.Set("secrets", secrets.List());
        return Task.CompletedTask;
    }
}
