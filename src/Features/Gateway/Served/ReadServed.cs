using Hive.Contracts.Gateway;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Gateway.Served;

/// <summary>The model servers the host runs for its providers: each one's state, pid, restarts, last exit and output's tail.</summary>
public static class ReadServed
{
    /// <summary>All of them, by provider name.</summary>
    public sealed record Query : IRequest<IReadOnlyList<ServedView>>;

    /// <summary>One provider's; a 404 when the provider is not served by the host.</summary>
    public sealed record One(string Provider) : IRequest<ServedView>;

    internal sealed class Handler(ServedProviders served) : IRequestHandler<Query, IReadOnlyList<ServedView>>, IRequestHandler<One, ServedView>
    {
        public Task<IReadOnlyList<ServedView>> Handle(Query query, CancellationToken cancellationToken) => Task.FromResult(served.Views());

        public Task<ServedView> Handle(One query, CancellationToken cancellationToken) =>
            Task.FromResult(served.ViewOf(query.Provider) ?? throw new NotFoundException($"the host runs no model server for a provider {query.Provider}"));
    }
}
