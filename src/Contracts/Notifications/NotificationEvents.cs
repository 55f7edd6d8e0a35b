namespace Hive.Contracts.Notifications;

/// <summary>
/// <c>notification_channel_changed</c>: a channel began or stopped failing (or fails otherwise now): failing since when
/// and why, and its last success.
/// </summary>
public sealed record NotificationChannelChangedPayload(string Channel, bool Failing, DateTimeOffset? FailingSince, string? LastError, DateTimeOffset? LastOkAt);
