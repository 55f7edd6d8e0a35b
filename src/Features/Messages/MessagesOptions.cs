namespace Hive.Features.Messages;

/// <summary>The <c>Hive:Messages</c> section: how long a handed-out message waits for its ack, and how often it is retried.</summary>
public sealed class MessagesOptions
{
    /// <summary>A message handed out by <c>recv</c> and not acknowledged within this is handed out again.</summary>
    public double AckTimeoutSeconds { get; set; } = 60;

    /// <summary>After this many unacknowledged hand-outs a message is set aside as undeliverable (and the operator told).</summary>
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>Delivered (acknowledged) messages older than this are removed; queued, in-flight and undeliverable ones never.</summary>
    public double RetainDays { get; set; } = 30;

    /// <summary>How often the retention sweep runs (it also runs at start-up).</summary>
    public double RetentionSweepMinutes { get; set; } = 60;

    public TimeSpan AckTimeout => TimeSpan.FromSeconds(AckTimeoutSeconds);
}
