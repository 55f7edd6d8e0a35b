using Hive.Contracts.Work;
using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Work;

public static class WorkFeature
{
    public static IServiceCollection AddWork(this IServiceCollection services)
    {
        services.AddOptions<WorkOptions>().BindConfiguration(WorkOptions.Section)
            .Validate(o => o.OfferSeconds is >= 1 and <= 86_400 && o.SweepSeconds is >= 1 and <= 3600 && o.MaxClaimsPerAgent is >= 1 and <= 100
                           && o.MaxDiscoveriesPerTicket is >= 0 and <= 1000 && o.RadarSeconds is >= 1 and <= 30
                           && o.MergeQueue is { MaxBatchSize: >= 1 and <= 64, BatchWaitSeconds: >= 0 and <= 3600, CheckTimeoutSeconds: >= 1 and <= 86_400 },
                "Hive:Work: OfferSeconds 1 to 86400, SweepSeconds 1 to 3600, MaxClaimsPerAgent 1 to 100, MaxDiscoveriesPerTicket 0 to 1000, RadarSeconds 1 to 30; "
                + "MergeQueue: MaxBatchSize 1 to 64, BatchWaitSeconds 0 to 3600, CheckTimeoutSeconds 1 to 86400")
            .ValidateOnStart();
        services.AddSingleton<WorkflowCatalog>();
        services.AddSingleton<AgentPool>();
        services.AddSingleton<TicketMoves>();
        services.AddSingleton<TicketReviews>();
        services.AddSingleton<TicketFacts>();
        services.AddSingleton<Gate>();
        services.AddSingleton<Board>();
        services.AddHostedService(p => p.GetRequiredService<Board>());
        services.AddTransient<IDashboardStateContributor, WorkStateContributor>();
        Leases.LeasesFeature.AddLeases(services);
        services.AddSingleton<Workspaces.WorkspaceGit>();
        services.AddSingleton<Workspaces.RepositoryClones>();
        services.AddSingleton<Workspaces.WorkspaceRows>();
        services.AddSingleton<Workspaces.Worktrees>();
        services.AddSingleton<Workspaces.TicketWorkspaces>();
        services.AddHostedService<Workspaces.ReconcileWorkspaces>();
        services.AddSingleton<Workspaces.TicketDiffs>();
        services.AddSingleton<Memory.TicketMemory>();
        services.AddSingleton<Forecasts.TicketForecasts>();
        services.AddSingleton<Reviews.ReviewParties>();
        services.AddSingleton<Reviews.ReviewOutcomes>();
        services.AddHostedService<Radar.ConflictRadar>();
        services.AddSingleton<MergeQueue.MergeQueueLoop>();
        services.AddHostedService(p => p.GetRequiredService<MergeQueue.MergeQueueLoop>());
        services.AddSingleton<MergeQueue.QueueEntries>();
        services.AddSingleton<MergeQueue.BatchRunner>();
        services.AddSingleton<MergeQueue.QueuePullRequests>();
        Hive.Shared.Data.DapperSetup.AddJsonColumn<List<long>>();
        return services;
    }
}

/// <summary>
/// The snapshot's <c>work</c>: the workflows (the board's columns), the files refused, and the open tickets' cards (done
/// ones are fetched on demand: <c>GET /api/tickets?done=true</c>; a ticket's context with <c>GET /api/tickets/{id}</c>).
/// </summary>
internal sealed class WorkStateContributor(IMediator mediator, WorkflowCatalog catalog) : IDashboardStateContributor
{
    private IReadOnlyDictionary<string, Workflow>? _workflows;
    private IReadOnlyList<WorkflowError>? _errors;

    public void Capture() => (_workflows, _errors) = (catalog.All, catalog.Errors);

    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        var tickets = await mediator.Send(new ListTickets.Query(), cancellationToken);
        state.Set("work", new
        {
            workflows = (_workflows ?? catalog.All).Values.OrderBy(w => w.Name, StringComparer.Ordinal).ToList(),
            workflow_errors = _errors ?? catalog.Errors,
            tickets = tickets.Select(t => t.Card()).ToList(),
            risks = await mediator.Send(new Radar.ListConflictRisks.Query(), cancellationToken),
            queue = await mediator.Send(new MergeQueue.ListMergeQueue.Query(), cancellationToken),
        });
    }
}
