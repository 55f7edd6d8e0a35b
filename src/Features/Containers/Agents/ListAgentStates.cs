using Dapper;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The registry's facts about whether agents can take work: driver, state, transient and capabilities, for every agent (or
/// the one named), straight from <c>agents</c>. What the work layer's dispatch reads on every round: one query, not the
/// dashboard's rows (<see cref="ListAgents"/>), which every feature contributes to.
/// </summary>
public static class ListAgentStates
{
    public sealed record Query(string? Name = null) : IRequest<IReadOnlyList<AgentState>>;

    internal sealed class Handler(AgentRegistry registry) : IRequestHandler<Query, IReadOnlyList<AgentState>>
    {
        public Task<IReadOnlyList<AgentState>> Handle(Query query, CancellationToken cancellationToken) =>
            Task.FromResult(registry.Read<IReadOnlyList<AgentState>>((c, t) => c.Query<Row>(
                    "SELECT name, driver, state, transient, capabilities FROM agents WHERE @Name IS NULL OR name = @Name ORDER BY name", query, t)
                .Select(r => new AgentState(r.Name, r.Driver, r.State, r.Transient, [.. r.Capabilities]))
                .ToList()));
    }

    /// <summary>Shared's <see cref="Hive.Shared.Agents.CountAgentsByState"/>, from the registry.</summary>
    internal sealed class CountHandler(AgentRegistry registry) : IRequestHandler<Hive.Shared.Agents.CountAgentsByState, IReadOnlyDictionary<string, int>>
    {
        public Task<IReadOnlyDictionary<string, int>> Handle(Hive.Shared.Agents.CountAgentsByState query, CancellationToken cancellationToken) =>
            Task.FromResult(registry.CountByState());
    }

    private sealed class Row
    {
        public string Name { get; set; } = "";
        public string Driver { get; set; } = "";
        public string State { get; set; } = "";
        public string? Transient { get; set; }
        public Hive.Shared.Data.JsonList Capabilities { get; set; } = Hive.Shared.Data.JsonList.Empty;
    }
}

/// <param name="Capabilities">The kinds of work it takes (<see cref="Capabilities"/>).</param>
public sealed record AgentState(string Name, string Driver, string State, string? Transient, IReadOnlyList<string> Capabilities);
