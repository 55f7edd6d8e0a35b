namespace Hive.Shared;

/// <summary>The <c>Hive</c> configuration section.</summary>
public sealed class HiveOptions
{
    public const string Section = "Hive";

    /// <summary>Where the hive keeps its database, state dirs and sockets; relative paths are taken from the working directory.</summary>
    public string DataDir { get; set; } = "./.hive";

    /// <summary>Agent names registered at start-up (until the Containers feature owns the registry); <c>manager</c> is always present.</summary>
    public List<string> Agents { get; set; } = [];

    public DatabaseOptions Database { get; set; } = new();
    public DashboardOptions Dashboard { get; set; } = new();
    public SocketsOptions Sockets { get; set; } = new();
}

public sealed class DatabaseOptions
{
    /// <summary>SQLite's <c>synchronous</c> pragma: NORMAL (default, durable across process crashes in WAL mode) or FULL.</summary>
    public string Synchronous { get; set; } = "NORMAL";
}

public sealed class DashboardOptions
{
    /// <summary>How many events a reconnecting client can catch up on with Last-Event-ID.</summary>
    public int ReplayCapacity { get; set; } = 10_000;

    /// <summary>Events queued for one subscriber before it is cut off (it reconnects and replays from the ring).</summary>
    public int SubscriberQueue { get; set; } = 4_096;

    public double HeartbeatSeconds { get; set; } = 15;
}

public sealed class SocketsOptions
{
    /// <summary>
    /// Each agent socket's file mode, in octal: <c>0600</c> (default: the host's user only) or <c>0660</c> (and its
    /// group). Checked at start-up (<see cref="Socket.SocketFileMode"/>): others and execute bits are refused.
    /// </summary>
    public string FileMode { get; set; } = "0600";
}
