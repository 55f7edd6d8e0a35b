using System.Diagnostics.Metrics;
using Hive.Shared.Metrics;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// Turns, tokens and cost as agents record them, counted from <see cref="TurnRecorded"/> (published after the row
/// commits). The model is whatever the agent's stream-json said, so it is bounded (<see cref="BoundedLabel"/>).
/// </summary>
public sealed class TurnStatsMetrics : HiveMetrics
{
    private readonly Counter<long> _turns;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly BoundedLabel _models = new();

    public TurnStatsMetrics(IMeterFactory meters) : base(meters, "TurnStats")
    {
        _turns = Meter.CreateCounter<long>("hive_turns_total", description: "Turns recorded, by agent and model.");
        _tokens = Meter.CreateCounter<long>("hive_tokens_total",
            description: "Tokens of recorded turns, by agent, model and kind (input, output, cache_read, cache_creation).");
        _cost = Meter.CreateCounter<double>("hive_cost_usd_total", description: "Cost in USD of recorded turns that report one, by agent and model.");
    }

    internal void Recorded(TurnView turn)
    {
        var agent = new KeyValuePair<string, object?>("agent", turn.Agent);
        var model = new KeyValuePair<string, object?>("model", _models.Of(turn.Model));
        _turns.Add(1, agent, model);
        _tokens.Add(turn.InputTokens, agent, model, new("kind", "input"));
        _tokens.Add(turn.OutputTokens, agent, model, new("kind", "output"));
        _tokens.Add(turn.CacheReadTokens, agent, model, new("kind", "cache_read"));
        _tokens.Add(turn.CacheCreationTokens, agent, model, new("kind", "cache_creation"));
        if (turn.CostUsd is { } cost) _cost.Add(cost, agent, model);
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
