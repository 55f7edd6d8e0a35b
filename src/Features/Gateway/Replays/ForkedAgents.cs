using System.Collections.Concurrent;
using Dapper;
using Hive.Contracts.Gateway;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// The agents that are forks, with the original's turn each continues from (an agent row's <c>fork_of</c>). Read from
/// <c>forks</c> when first asked, so a fork the last host life made is still one; a fork's agent destroyed is one no more.
/// </summary>
internal sealed class ForkedAgents(IDb db)
{
    public const string Columns = "id, agent, source_agent, source_turn, model, message, created_at";

    private ConcurrentDictionary<string, ForkOf>? _loaded;
    private readonly Lock _loading = new();

    private ConcurrentDictionary<string, ForkOf> Agents
    {
        get
        {
            if (_loaded is { } loaded) return loaded;
            lock (_loading)
            {
                if (_loaded is not null) return _loaded;
                using var connection = db.Open();
                var known = connection.Query<(long Id, string Agent, string SourceAgent, long SourceTurn)>(
                    "SELECT id, agent, source_agent, source_turn FROM forks WHERE released = 0 ORDER BY id");
                return _loaded = new ConcurrentDictionary<string, ForkOf>(
                    known.Select(f => KeyValuePair.Create(f.Agent, new ForkOf(f.Id, f.SourceAgent, f.SourceTurn))), StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The original's turn the agent continues from; null for any other agent.</summary>
    public ForkOf? ForkOf(string agent) => Agents.GetValueOrDefault(agent);

    public void Know(string agent, ForkOf fork) => Agents[agent] = fork;

    public void Release(string agent) => Agents.TryRemove(agent, out _);
}

/// <summary>A fork's agent destroyed: its name is free for an ordinary agent again.</summary>
internal sealed class ReleaseForkAgent(ForkedAgents forks, StateChanges changes, IServiceScopeFactory scopes) : INotificationHandler<AgentRemoved>
{
    public async Task Handle(AgentRemoved notification, CancellationToken cancellationToken)
    {
        if (forks.ForkOf(notification.Name) is not { } fork) return;
        forks.Release(notification.Name);
        await changes.RunAsync(scopes, (change, _) =>
        {
            change.Execute("UPDATE forks SET released = 1 WHERE id = @Fork", fork);
            return Task.CompletedTask;
        }, CancellationToken.None);
    }
}
