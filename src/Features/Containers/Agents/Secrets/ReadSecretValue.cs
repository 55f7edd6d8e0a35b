using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// A secret's value, for the model gateway only: it adds a provider's key to the request on its way upstream, so the key
/// never enters a sandbox. Null when the secret is not set. Never answered on any route or verb.
/// </summary>
public static class ReadSecretValue
{
    public sealed record Query(string Name) : IRequest<string?>;

    internal sealed class Handler(SecretStore secrets) : IRequestHandler<Query, string?>
    {
        public Task<string?> Handle(Query query, CancellationToken cancellationToken) => Task.FromResult(secrets.ValueOf(query.Name));
    }
}
