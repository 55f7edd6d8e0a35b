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

    /// <summary>
    /// The most message body one agent may send per clock hour (UTF-8 bytes; a broadcast counts once per recipient, as it is
    /// stored): past it a send is refused (<c>too_many</c>) until the hour is over. 8 MiB: over 8000 full-size messages
    /// an hour, more than any honest agent sends, and a bound on how fast one can fill the disk. The operator has none.
    /// </summary>
    public long BytesPerHour { get; set; } = 8L * 1024 * 1024;

    public TimeSpan AckTimeout => TimeSpan.FromSeconds(AckTimeoutSeconds);
}
