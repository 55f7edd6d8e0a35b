using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance.Spend;

/// <summary>
/// The provider itself said "limit" (the gateway saw a 429 or 529, with the reset it named): the provider's circuit opens
/// until <see cref="Command.Until"/> for every agent on it. Unlike an agent's <c>quota_hit</c>, this is a fact.
/// </summary>
public static class OpenProviderCircuit
{
    public sealed record Command(string Provider, DateTimeOffset Until, string SeenOnAgent, string Detail) : IRequest, IChangesState;

    // TODO(helper: governance): the real rule (through the circuit OpenQuotaCircuit keeps). Until then nothing opens.
    internal sealed class Handler : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken) => Task.FromResult(Unit.Value);
    }
}
