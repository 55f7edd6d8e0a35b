using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The operator deletes a secret. Agents running with it keep the value they were started with; their next start (a
/// restart, a crash, the host's next start) is refused, naming the secret, until it is set again or their configuration
/// stops referring to it.
/// </summary>
public static class DeleteSecret
{
    public sealed record Command(string Name) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, SecretStore secrets) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            if (!secrets.Delete(command.Name)) throw new NotFoundException($"no secret named {command.Name}");
            changes.Current.Raise(new SecretsChanged(secrets.List()));
            return Task.FromResult(Unit.Value);
        }
    }
}
