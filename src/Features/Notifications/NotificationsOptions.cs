namespace Hive.Features.Notifications;

/// <summary>The <c>Hive:Notifications</c> section: where pushes go, which kinds, and how quickly.</summary>
public sealed class NotificationsOptions
{
    /// <summary>Channels by name (any number): each an ntfy topic or a webhook.</summary>
    public Dictionary<string, ChannelOptions> Channels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per kind (<see cref="NotificationKinds"/>): whether it notifies and its quiet delay.</summary>
    public Dictionary<string, KindOptions> Kinds { get; set; } = new(StringComparer.Ordinal);

    /// <summary>At most one push per channel per this many seconds: a burst goes out as one.</summary>
    public double BatchSeconds { get; set; } = 5;

    /// <summary>How long a one-tap link stays good.</summary>
    public double ActionMinutes { get; set; } = 60;

    /// <summary>A failed push is tried again after 1, 2, 4 … seconds, at most this many apart.</summary>
    public double MaxRetrySeconds { get; set; } = 300;

    public KindOptions KindOf(string kind) => Kinds.TryGetValue(kind, out var options) ? options : new KindOptions();
}

public sealed class ChannelOptions
{
    /// <summary><c>ntfy</c> or <c>webhook</c>.</summary>
    public string Type { get; set; } = "";

    /// <summary>ntfy: the topic URL (<c>https://ntfy.sh/my-topic</c>); webhook: where the JSON is POSTed.</summary>
    public string Url { get; set; } = "";

    /// <summary>ntfy: a file holding an access token (sent as Bearer), optional.</summary>
    public string? TokenFile { get; set; }

    /// <summary>webhook: a file holding the HMAC key the body is signed with (required).</summary>
    public string? SecretFile { get; set; }

    /// <summary>Only these kinds (empty: every kind that is on).</summary>
    public List<string> Kinds { get; set; } = [];
}

public sealed class KindOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>A push waits this long, and is skipped if the operator decided on the dashboard meanwhile.</summary>
    public double DelaySeconds { get; set; } = 30;
}

/// <summary>What notifies: only what needs a person.</summary>
public static class NotificationKinds
{
    public const string Question = "question";
    public const string Approval = "approval";
    public const string Budget = "budget";
    public const string Quota = "quota";
    public const string Watchdog = "watchdog";
    public const string Failed = "failed";
    public const string Halted = "halted";
    public const string Constellation = "constellation";
    public const string Test = "test";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
        { Question, Approval, Budget, Quota, Watchdog, Failed, Halted, Constellation };
}

public static class ChannelTypes
{
    public const string Ntfy = "ntfy";
    public const string Webhook = "webhook";
}
