using System.Diagnostics.Metrics;
using Hive.Shared.Metrics;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>Turns held and granted, counted from <see cref="TurnHeld"/> and <see cref="TurnGranted"/> (published after their commit).</summary>
public sealed class GovernanceMetrics : HiveMetrics
{
    private static readonly string[] Reasons = [HoldReasons.Halted, HoldReasons.Paused, HoldReasons.Quota, HoldReasons.Budget, HoldReasons.Queued];

    private readonly Counter<long> _held;
    private readonly Counter<long> _granted;
    private readonly BoundedLabel _providers = new();

    public GovernanceMetrics(IMeterFactory meters) : base(meters, "Governance")
    {
        _held = Meter.CreateCounter<long>("hive_turns_held_total",
            description: "Turn requests held, by reason (counted once per reason while an agent waits).");
        _granted = Meter.CreateCounter<long>("hive_turns_granted_total", description: "Turns granted, by provider.");
        // The reasons are a fixed set: each series exists from the start.
        foreach (var reason in Reasons) _held.Add(0, new KeyValuePair<string, object?>("reason", reason));
    }

    internal sealed class CountHeld(GovernanceMetrics metrics) : INotificationHandler<TurnHeld>
    {
        public Task Handle(TurnHeld notification, CancellationToken cancellationToken)
        {
            var reason = Reasons.Contains(notification.Reason) ? notification.Reason : BoundedLabel.Other;
            metrics._held.Add(1, new KeyValuePair<string, object?>("reason", reason));
            return Task.CompletedTask;
        }
    }

    internal sealed class CountGranted(GovernanceMetrics metrics) : INotificationHandler<TurnGranted>
    {
        public Task Handle(TurnGranted notification, CancellationToken cancellationToken)
        {
            metrics._granted.Add(1, new KeyValuePair<string, object?>("provider", metrics._providers.Of(notification.Turn.Provider)));
            return Task.CompletedTask;
        }
    }
}
