using Hive.Contracts.Containers;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The operator's secrets by name, with the time each was last set; never a value.</summary>
public static class ListSecrets
{
    public sealed record Query : IRequest<IReadOnlyList<SecretView>>;

    internal sealed class Handler(SecretStore secrets) : IRequestHandler<Query, IReadOnlyList<SecretView>>
    {
        public Task<IReadOnlyList<SecretView>> Handle(Query query, CancellationToken cancellationToken) => Task.FromResult(secrets.List());
    }
}
