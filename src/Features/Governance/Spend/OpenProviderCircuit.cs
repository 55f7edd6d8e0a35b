using FluentValidation;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance.Spend;

/// <summary>
/// The provider itself said "limit" (the gateway saw a 429 or 529, with the reset it named): the provider's circuit opens
/// until <see cref="Command.Until"/> for every agent on it, through the circuit <see cref="OpenQuotaCircuit"/> keeps, by
/// the hive (not the agent it was seen on). Unlike an agent's <c>quota_hit</c>, this is a fact: it opens a circuit the
/// operator cleared too. A reset further than <see cref="OpenQuotaCircuit.MaxAhead"/> (7 days) is cut to it (the clock or
/// the operator closes the circuit then, and the provider's next 429 opens it again); one not ahead of now opens nothing
/// (the limit has lifted). A later reset wins; nothing but the clock or the operator closes it (a later 200 does not).
/// </summary>
public static class OpenProviderCircuit
{
    public sealed record Command(string Provider, DateTimeOffset Until, string SeenOnAgent, string Detail) : IRequest, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Provider).Matches(ProviderNames.Pattern).WithName("provider").WithMessage("provider must match ^[a-z][a-z0-9-]{0,30}$");
            RuleFor(c => c.Detail).MaximumLength(1024).WithName("detail");
        }
    }

    internal sealed class Handler(StateChanges changes, GovernanceState state, GovernedRows rows, TimeProvider clock) : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            if (command.Until <= now) return Unit.Value;
            var until = command.Until > now + OpenQuotaCircuit.MaxAhead ? now + OpenQuotaCircuit.MaxAhead : command.Until;
            await QuotaCircuits.OpenAsync(changes.Current, state, rows, command.Provider, until, Actor.Hive, Actor.Hive.Name,
                $"the provider answered {command.Detail} (seen on {command.SeenOnAgent})", now);
            return Unit.Value;
        }
    }
}
