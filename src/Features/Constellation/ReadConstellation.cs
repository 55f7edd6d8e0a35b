using Carter;
using Hive.Contracts.Constellation;
using Hive.Shared.Dashboard;
using Hive.Shared.Http;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Constellation;

/// <summary>
/// The constellation for the operator: this hive's status, the hives heard from, the latest dead letters
/// (<c>GET /api/constellation</c>, the snapshot's <c>constellation</c>, <c>hivectl hives</c>). A hive alone says so.
/// </summary>
public static class ReadConstellation
{
    public sealed record Query : IRequest<ConstellationView>;

    internal sealed class Handler(IServiceProvider services) : IRequestHandler<Query, ConstellationView>
    {
        public Task<ConstellationView> Handle(Query query, CancellationToken cancellationToken) =>
            services.GetService<ConstellationState>() is { } state ? state.ViewAsync(cancellationToken) : Task.FromResult(ConstellationView.Off);
    }

    internal sealed class StateContributor(IMediator mediator) : IDashboardStateContributor
    {
        public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken) =>
            state.Set("constellation", await mediator.Send(new Query(), cancellationToken));
    }
}

/// <summary>The constellation's routes. Routing only.</summary>
public sealed class ConstellationModule : CarterModule
{
    public ConstellationModule(IMediator mediator) : base("/api/constellation") =>
        Get("/", async (req, res) => await res.Ok(await mediator.Send(new ReadConstellation.Query(), req.HttpContext.RequestAborted)));
}
