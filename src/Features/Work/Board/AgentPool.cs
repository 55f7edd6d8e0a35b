using Hive.Features.Containers;
using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Work;

/// <summary>An agent as dispatch sees it: its capabilities, whether it is up to take work, and whether the governor holds it.</summary>
internal sealed record PoolAgent(string Name, IReadOnlyList<string> Capabilities, bool Up, string? Held)
{
    public bool Has(IEnumerable<string> any) => any.Any(Capabilities.Contains);
}

/// <summary>
/// The registry's agents with the facts dispatch needs (Containers' <see cref="ListAgentStates"/>) and the governor's holds.
/// An external agent, run by someone else, counts as up; a managed one when it runs with no action under way.
/// </summary>
internal sealed class AgentPool(IWorkHolds holds)
{
    public async Task<IReadOnlyList<PoolAgent>> ListAsync(IMediator mediator, CancellationToken cancellationToken, string? name = null) =>
        (await mediator.Send(new ListAgentStates.Query(name), cancellationToken))
        .Select(a => new PoolAgent(a.Name, a.Capabilities, a.Driver == "external" || (a.State == "running" && a.Transient is null), holds.HeldFor(a.Name)))
        .ToList();

    public async Task<PoolAgent?> FindAsync(IMediator mediator, string name, CancellationToken cancellationToken) =>
        (await ListAsync(mediator, cancellationToken, name)).SingleOrDefault();
}
