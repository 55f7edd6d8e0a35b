using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Shared.Mediation;

/// <summary>
/// A request sent from a singleton (a background loop): the mediator and its handlers are scoped, so each send gets a
/// scope of its own, disposed once it is answered.
/// </summary>
public static class ScopedSend
{
    public static async Task<T> SendAsync<T>(this IServiceScopeFactory scopes, IRequest<T> request, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request, ct);
    }
}
