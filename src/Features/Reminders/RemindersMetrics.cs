using System.Diagnostics.Metrics;
using Hive.Shared.Agents;
using Hive.Shared.Metrics;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>Reminder deliveries and failed attempts by agent, counted from their notifications (published after the commit).</summary>
public sealed class RemindersMetrics : HiveMetrics
{
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _failed;

    public RemindersMetrics(IMeterFactory meters, IAgentDirectory agents) : base(meters, "Reminders")
    {
        _delivered = Meter.CreateCounter<long>("hive_reminders_delivered_total", description: "Reminders delivered as messages, by agent.");
        _failed = Meter.CreateCounter<long>("hive_reminders_failed_total", description: "Failed reminder delivery attempts, by agent.");
        SeedPerAgent(agents, _delivered, _failed);
    }

    internal sealed class CountDelivered(RemindersMetrics metrics) : INotificationHandler<ReminderDelivered>
    {
        public Task Handle(ReminderDelivered notification, CancellationToken cancellationToken)
        {
            metrics._delivered.Add(1, new KeyValuePair<string, object?>("agent", notification.Agent));
            return Task.CompletedTask;
        }
    }

    internal sealed class CountFailed(RemindersMetrics metrics) : INotificationHandler<ReminderFailed>
    {
        public Task Handle(ReminderFailed notification, CancellationToken cancellationToken)
        {
            metrics._failed.Add(1, new KeyValuePair<string, object?>("agent", notification.Agent));
            return Task.CompletedTask;
        }
    }
}
