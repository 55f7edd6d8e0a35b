using Hive.Contracts.Messages;
using Hive.Shared.Dashboard;

namespace Hive.Features.Messages;

/// <summary>A message was committed (published after the commit).</summary>
public sealed record MessageSent(MessageView Message) : IDashboardEvent<MessageView>
{
    public string EventType => "sent";
    public MessageView Payload => Message;
}

/// <summary>A recipient acknowledged a message (published after the commit that marked it delivered).</summary>
public sealed record MessageDelivered(MessageView Message) : IDashboardEvent<MessageView>
{
    public string EventType => "delivered";
    public MessageView Payload => Message;
}

/// <summary>A message ran out of deliveries without an acknowledgement and was set aside (the operator is told).</summary>
public sealed record MessageUndeliverable(MessageView Message) : IDashboardEvent<MessageView>
{
    public string EventType => "message_undeliverable";
    public MessageView Payload => Message;
}
