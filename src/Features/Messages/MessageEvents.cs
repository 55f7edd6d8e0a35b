using Hive.Shared.Dashboard;

namespace Hive.Features.Messages;

/// <summary>A message was committed (published after the commit).</summary>
public sealed record MessageSent(MessageView Message) : IDashboardEvent
{
    public string EventType => "sent";
    public object Payload => Message;
}

/// <summary>A recipient's <c>recv</c> took a message (published after the commit that marked it delivered).</summary>
public sealed record MessageDelivered(MessageView Message) : IDashboardEvent
{
    public string EventType => "delivered";
    public object Payload => Message;
}
