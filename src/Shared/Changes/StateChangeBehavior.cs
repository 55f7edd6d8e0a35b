using MediatR;

namespace Hive.Shared.Changes;

/// <summary>Runs every <see cref="IChangesState"/> request inside the unit of work; other requests pass straight through.</summary>
public sealed class StateChangeBehavior<TRequest, TResponse>(StateChanges changes, IMediator mediator) : IPipelineBehavior<TRequest, TResponse>
{
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next) =>
        request is IChangesState
            // Published with no token: the change has committed, so its events must go out even if the caller left.
            ? changes.RunAsync(() => next(), notification => mediator.Publish(notification, CancellationToken.None), cancellationToken)
            : next();
}
