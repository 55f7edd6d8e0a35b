using System.Text.Json;
using Hive.Contracts.Json;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Dashboard;

/// <summary>The single handler that turns every dashboard notification into a numbered SSE event.</summary>
public sealed class DashboardRelay<T>(DashboardHub hub, ILogger<DashboardRelay<T>> logger) : INotificationHandler<T>
    where T : INotification, IDashboardEvent
{
    public Task Handle(T notification, CancellationToken cancellationToken)
    {
        // Never throws: MediatR 5 publishes sequentially, and a failure here would fail a command that already committed.
        try
        {
            hub.Publish(notification.EventType, JsonSerializer.Serialize(notification.Payload, notification.Payload.GetType(), HiveJson.Options),
                ((IDashboardEvent)notification).OnlyForAgent);
        }
        catch (Exception e)
        {
            logger.LogError(e, "could not relay {Event} to the dashboard", notification.EventType);
        }
        return Task.CompletedTask;
    }
}
