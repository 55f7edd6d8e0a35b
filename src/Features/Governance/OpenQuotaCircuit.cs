using Hive.Shared.Audit;
using FluentValidation;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// <c>quota_hit</c>: a turn ended on a provider's usage or rate limit. The circuit of that provider opens until the reset
/// the limit named (or for <c>QuotaDefaultMinutes</c>), durably: every agent on it is held <c>quota</c> until then, the
/// others carry on, and at <c>until</c> their turns are granted again through the queue. A later reset wins over an earlier one.
/// </summary>
public static class OpenQuotaCircuit
{
    public static readonly TimeSpan MaxAhead = TimeSpan.FromDays(7);

    public sealed record Command(string Agent, string? Provider, DateTimeOffset? Until) : IRequest<GovernanceState.QuotaCircuit>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(TimeProvider clock)
        {
            RuleFor(c => c.Provider).Matches(ProviderNames.Pattern).When(c => c.Provider is not null)
                .WithName("provider").WithMessage("provider must match ^[a-z][a-z0-9-]{0,30}$");
            RuleFor(c => c.Until).Must(until => until is null || (until > clock.GetUtcNow() && until <= clock.GetUtcNow() + MaxAhead))
                .WithName("until").WithMessage("until must be in the future, at most 7 days ahead");
        }
    }

    internal sealed class Handler(StateChanges changes, GovernanceState state, AgentProviders providers, GovernedRows rows,
        IOptions<GovernanceOptions> options, TimeProvider clock) : IRequestHandler<Command, GovernanceState.QuotaCircuit>
    {
        public async Task<GovernanceState.QuotaCircuit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            // An agent stops its own provider only: one agent must not hold the agents of another provider.
            var own = await providers.OfAsync(command.Agent, cancellationToken);
            if (command.Provider is { } named && named != own)
                throw new Hive.Shared.Errors.ForbiddenException($"{command.Agent}'s turns count against {own}, not {named}: it can report only its own provider's limit");
            var provider = own;
            var until = command.Until ?? now + TimeSpan.FromMinutes(options.Value.QuotaDefaultMinutes);
            var before = state.CircuitOf(provider, now);
            if (before is not null && before.Until >= until) return before;

            var circuit = new GovernanceState.QuotaCircuit(provider, until, before?.Since ?? now, command.Agent);
            change.Execute("""
                INSERT INTO quota_circuits (provider, until, opened_at, opened_by) VALUES (@Provider, @Until, @Since, @Source)
                ON CONFLICT (provider) DO UPDATE SET until = excluded.until, opened_by = excluded.opened_by
                """, circuit);
            Interventions.Record(change, now, Actor.Agent(command.Agent), InterventionActions.QuotaCircuitOpened, provider, "a usage or rate limit",
                before is null ? null : new { until = before.Until }, new { until });
            state.SetCircuit(circuit);
            change.OnRolledBack(() => { if (before is null) state.ClearCircuit(provider); else state.SetCircuit(before); });
            change.Raise(new QuotaCircuitChanged(provider, until, command.Agent));
            await rows.RaiseAsync(change, _ => true);
            return circuit;
        }
    }
}

/// <summary>Closes a provider's circuit: the operator early, or the clock at its <c>until</c>. Held turns are then granted through the queue.</summary>
public static class ClearQuotaCircuit
{
    /// <param name="OnlyIfExpired">The clock's close: a circuit re-opened meanwhile (a later reset) stays.</param>
    public sealed record Command(string Provider, Actor By, bool OnlyIfExpired = false) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, TimeProvider clock)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var circuit = state.Circuits.FirstOrDefault(c => c.Provider == command.Provider)
                ?? throw new Hive.Shared.Errors.NotFoundException($"no quota circuit is open for {command.Provider}");
            if (command.OnlyIfExpired && circuit.Until > clock.GetUtcNow()) return Unit.Value;
            change.Execute("DELETE FROM quota_circuits WHERE provider = @Provider", command);
            Interventions.Record(change, clock.GetUtcNow(), command.By, InterventionActions.QuotaCircuitCleared, command.Provider,
                command.OnlyIfExpired ? "its reset came" : null, new { until = circuit.Until, source = circuit.Source }, null);
            state.ClearCircuit(command.Provider);
            change.OnRolledBack(() => state.SetCircuit(circuit));
            change.Raise(new QuotaCircuitChanged(command.Provider, null, command.By.Name));
            await rows.RaiseAsync(change, _ => true);
            change.AfterPublished(admission.Pump);
            return Unit.Value;
        }
    }
}

public static class ProviderNames
{
    public const string Pattern = "^[a-z][a-z0-9-]{0,30}$";
}
