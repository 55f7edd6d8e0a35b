using FluentValidation;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// <c>quota_hit</c>: an agent's turn ended on its provider's usage or rate limit. An agent's word never holds another
/// agent: the report holds that agent at once until the reset it named (or for <c>QuotaDefaultMinutes</c>), durably; the
/// provider's circuit opens for every agent on it only when a second agent on that provider reports the limit while the
/// first's hold lasts (until the earlier of their two resets: what both say), or when the gateway saw the limit itself
/// (<see cref="Spend.OpenProviderCircuit"/>). After the operator cleared a circuit, reports cannot re-open it before the
/// reset the cleared circuit named. A later reset wins over an earlier one.
/// </summary>
public static class OpenQuotaCircuit
{
    public static readonly TimeSpan MaxAhead = TimeSpan.FromDays(7);

    /// <param name="Scope"><c>agent</c>: only the reporter is held; <c>provider</c>: the provider's circuit is open.</param>
    public sealed record Result(string Provider, DateTimeOffset Until, string Scope);

    public sealed record Command(string Agent, string? Provider, DateTimeOffset? Until) : IRequest<Result>, IChangesState;

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

    internal sealed class Handler(StateChanges changes, GovernanceState state, AgentProviders providers, GovernedRows rows, Admission admission,
        IOptions<GovernanceOptions> options, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            // An agent stops its own provider only (the one its running turn is on, for an agent with a chain): one agent must
            // not hold the agents of another provider.
            var own = admission.RunningOf(command.Agent)?.Provider ?? await providers.OfAsync(command.Agent, cancellationToken);
            if (command.Provider is { } named && named != own)
                throw new Hive.Shared.Errors.ForbiddenException($"{command.Agent}'s turns count against {own}, not {named}: it can report only its own provider's limit");
            var provider = own;
            var until = command.Until ?? now + TimeSpan.FromMinutes(options.Value.QuotaDefaultMinutes);

            // The reporter is held at once (a later reset wins over its own earlier one).
            var earlier = state.RawQuotaHoldOf(command.Agent);
            var live = earlier is not null && earlier.Until > now && earlier.Provider == provider ? earlier : null;
            var hold = new GovernanceState.AgentQuotaHold(command.Agent, provider, live is not null && live.Until > until ? live.Until : until, live?.Since ?? now);
            if (live is null || hold.Until != live.Until)
            {
                change.Execute("""
                    INSERT INTO agent_quota_holds (agent, provider, until, since) VALUES (@Agent, @Provider, @Until, @Since)
                    ON CONFLICT (agent) DO UPDATE SET provider = excluded.provider, until = excluded.until, since = excluded.since
                    """, hold);
                state.SetQuotaHold(hold);
                change.OnRolledBack(() => { if (earlier is null) state.ClearQuotaHold(command.Agent); else state.SetQuotaHold(earlier); });
                change.Raise(new AgentQuotaHeld(command.Agent, provider, hold.Until));
                await rows.RaiseAsync(change, a => a.Name == command.Agent);
            }

            if (state.CircuitOf(provider, now) is { } open) return new Result(provider, open.Until, QuotaScopes.Provider);
            // The operator cleared this provider's circuit: reports do not re-open it within the reset it named.
            if (state.ClearedUntil(provider) is { } cleared && cleared > now) return new Result(provider, hold.Until, QuotaScopes.Agent);
            var confirmed = state.QuotaHolds(now).FirstOrDefault(h => h.Provider == provider && h.Agent != command.Agent);
            if (confirmed is null) return new Result(provider, hold.Until, QuotaScopes.Agent);
            var circuit = await QuotaCircuits.OpenAsync(change, state, rows, provider, hold.Until < confirmed.Until ? hold.Until : confirmed.Until,
                Actor.Agent(command.Agent), command.Agent, $"a usage or rate limit, reported by {confirmed.Agent} and {command.Agent}", now);
            return new Result(provider, circuit.Until, QuotaScopes.Provider);
        }
    }
}

public static class QuotaScopes
{
    public const string Agent = "agent";
    public const string Provider = "provider";
}

/// <summary>The provider's circuit opens (or its reset moves later): its row, state, intervention, event and the rows it holds.</summary>
internal static class QuotaCircuits
{
    public static async Task<GovernanceState.QuotaCircuit> OpenAsync(StateChange change, GovernanceState state, GovernedRows rows, string provider,
        DateTimeOffset until, Actor actor, string source, string reason, DateTimeOffset now)
    {
        var before = state.CircuitOf(provider, now);
        if (before is not null && before.Until >= until) return before;

        var circuit = new GovernanceState.QuotaCircuit(provider, until, before?.Since ?? now, source);
        change.Execute("""
            INSERT INTO quota_circuits (provider, until, opened_at, opened_by) VALUES (@Provider, @Until, @Since, @Source)
            ON CONFLICT (provider) DO UPDATE SET until = excluded.until, opened_by = excluded.opened_by
            """, circuit);
        Interventions.Record(change, now, actor, InterventionActions.QuotaCircuitOpened, provider, reason,
            before is null ? null : new { until = before.Until }, new { until });
        state.SetCircuit(circuit);
        change.OnRolledBack(() => { if (before is null) state.ClearCircuit(provider); else state.SetCircuit(before); });
        change.Raise(new QuotaCircuitChanged(provider, until, source));
        await rows.RaiseAsync(change, _ => true);
        return circuit;
    }
}

/// <summary>
/// Closes a provider's circuit: the operator early, or the clock at its <c>until</c>. The operator's close also lifts the
/// holds its agents' own reports put on them, and keeps agents' reports from re-opening it before the latest reset it
/// named. Held turns are then granted through the queue.
/// </summary>
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
            var now = clock.GetUtcNow();
            var circuit = state.Circuits.FirstOrDefault(c => c.Provider == command.Provider);
            var holds = command.OnlyIfExpired ? [] : state.QuotaHolds(now).Where(h => h.Provider == command.Provider).ToList();
            if (circuit is null && holds.Count == 0) throw new Hive.Shared.Errors.NotFoundException($"no quota circuit is open for {command.Provider}");
            if (command.OnlyIfExpired && circuit!.Until > now) return Unit.Value;
            if (circuit is not null)
            {
                change.Execute("DELETE FROM quota_circuits WHERE provider = @Provider", command);
                Interventions.Record(change, now, command.By, InterventionActions.QuotaCircuitCleared, command.Provider,
                    command.OnlyIfExpired ? "its reset came" : null, new { until = circuit.Until, source = circuit.Source }, null);
                state.ClearCircuit(command.Provider);
                change.OnRolledBack(() => state.SetCircuit(circuit));
            }
            else
                Interventions.Record(change, now, command.By, InterventionActions.QuotaCircuitCleared, command.Provider, "its agents' own quota holds",
                    new { held = holds.Select(h => new { agent = h.Agent, until = h.Until }).ToList() }, null);
            foreach (var hold in holds)
            {
                change.Execute("DELETE FROM agent_quota_holds WHERE agent = @Agent", hold);
                state.ClearQuotaHold(hold.Agent);
                change.OnRolledBack(() => state.SetQuotaHold(hold));
            }
            if (!command.OnlyIfExpired)
            {
                var named = holds.Select(h => h.Until).Append(circuit?.Until ?? now).Max();
                var earlier = state.ClearedUntil(command.Provider);
                if (earlier is null || named > earlier)
                {
                    change.Execute("""
                        INSERT INTO quota_circuit_clears (provider, until, cleared_by, cleared_at) VALUES (@Provider, @named, @by, @now)
                        ON CONFLICT (provider) DO UPDATE SET until = excluded.until, cleared_by = excluded.cleared_by, cleared_at = excluded.cleared_at
                        """, new { command.Provider, named, by = command.By.Name, now });
                    state.SetCleared(command.Provider, named);
                    change.OnRolledBack(() => state.SetCleared(command.Provider, earlier));
                }
            }
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
