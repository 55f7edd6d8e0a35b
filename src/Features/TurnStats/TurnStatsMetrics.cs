using System.Diagnostics.Metrics;
using Dapper;
using Hive.Contracts.TurnStats;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Metrics;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// Turns, tokens and cost as agents record them, counted from <see cref="TurnRecorded"/> (published after the row
/// commits). The model is whatever the agent's stream-json said, so it is bounded (<see cref="BoundedLabel"/>).
/// </summary>
/// <remarks>
/// A series must exist at 0 before its first increment, or <c>increase()</c> and <c>rate()</c> miss that turn. The model
/// of an agent's next turn cannot be known beforehand (no agent record holds one: it is what the harness reports, a
/// dated model id, whatever alias the agent's arguments gave), so a guessed <c>model</c> would add a series that never
/// moves while the real one still starts without its 0. Two things cover it instead: at start-up every agent × model
/// its stored turns name is seeded at 0 (so a restart's first turn of a known pair counts, and quiet agents show 0), and
/// the exporter shows any counter's new label set at 0 for one scrape before its first increment (MeterBridge).
/// </remarks>
public sealed class TurnStatsMetrics : HiveMetrics
{
    public static readonly IReadOnlyList<string> TokenKinds = ["input", "output", "cache_read", "cache_creation"];

    private readonly Counter<long> _turns;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly BoundedLabel _models = new();

    public TurnStatsMetrics(IMeterFactory meters, IDb db, IAgentDirectory agents) : base(meters, "TurnStats")
    {
        _turns = Meter.CreateCounter<long>("hive_turns_total", description: "Turns recorded, by agent and model.");
        _tokens = Meter.CreateCounter<long>("hive_tokens_total",
            description: "Tokens of recorded turns, by agent, model and kind (input, output, cache_read, cache_creation).");
        _cost = Meter.CreateCounter<double>("hive_cost_usd_total", description: "Cost in USD of recorded turns that report one, by agent and model.");
        SeedFromStoredTurns(db, agents);
    }

    /// <summary>Every live agent × model its kept turns name, at 0: the label sets known before this host's first turn.</summary>
    private void SeedFromStoredTurns(IDb db, IAgentDirectory agents)
    {
        var live = agents.List().Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        using var connection = db.Open();
        foreach (var (agent, model) in connection.Query<(string Agent, string? Model)>("SELECT DISTINCT agent, model FROM turns ORDER BY agent, model"))
            if (live.Contains(agent)) Add(agent, model, 0, 0, 0, 0, 0, 0);
    }

    internal void Recorded(TurnView turn) =>
        Add(turn.Agent, turn.Model, 1, turn.InputTokens, turn.OutputTokens, turn.CacheReadTokens, turn.CacheCreationTokens, turn.CostUsd);

    private void Add(string agentName, string? modelName, long turns, long input, long output, long cacheRead, long cacheCreation, double? cost)
    {
        var agent = new KeyValuePair<string, object?>("agent", agentName);
        var model = new KeyValuePair<string, object?>("model", _models.Of(modelName));
        _turns.Add(turns, agent, model);
        _tokens.Add(input, agent, model, new("kind", TokenKinds[0]));
        _tokens.Add(output, agent, model, new("kind", TokenKinds[1]));
        _tokens.Add(cacheRead, agent, model, new("kind", TokenKinds[2]));
        _tokens.Add(cacheCreation, agent, model, new("kind", TokenKinds[3]));
        if (cost is { } usd) _cost.Add(usd, agent, model);
    }

    internal sealed class CountTurn(TurnStatsMetrics metrics) : INotificationHandler<TurnRecorded>
    {
        public Task Handle(TurnRecorded notification, CancellationToken cancellationToken)
        {
            metrics.Recorded(notification.Turn);
            return Task.CompletedTask;
        }
    }
}
