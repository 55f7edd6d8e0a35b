namespace Hive.Shared;

/// <summary>The <c>Hive</c> configuration section.</summary>
public sealed class HiveOptions
{
    public const string Section = "Hive";

    /// <summary>Where the hive keeps its database, state dirs and sockets; relative paths are taken from the working directory.</summary>
    public string DataDir { get; set; } = "./.hive";

    /// <summary>
    /// External agents registered at start-up; <c>manager</c> is always present. Each is a name (<c>"alice"</c>) or an
    /// object with its capabilities (<c>{"name": "bob", "capabilities": ["code"]}</c>).
    /// </summary>
    public List<ConfiguredAgent> Agents { get; set; } = [];

    public DatabaseOptions Database { get; set; } = new();
    public DashboardOptions Dashboard { get; set; } = new();
    public SocketsOptions Sockets { get; set; } = new();
    public LimitsOptions Limits { get; set; } = new();
}

/// <summary>
/// Caps on what clients can hold open, so that no number of connections can exhaust the host's file descriptors. Each
/// cap is also held under the share of the descriptor limit it may use (<see cref="Limits.FileDescriptors"/>), whatever
/// is configured.
/// </summary>
public sealed class LimitsOptions
{
    /// <summary>HTTP connections open at once (Kestrel's MaxConcurrentConnections); the rest are closed on accept.</summary>
    public int MaxHttpConnections { get; set; } = 1_000;

    /// <summary>Event streams (<c>GET /api/events</c>) open at once; the next gets 503 with Retry-After.</summary>
    public int MaxEventStreams { get; set; } = 200;

    /// <summary>Agent-socket connections open at once, all agents together (each agent also has its own cap of 64).</summary>
    public int MaxAgentConnections { get; set; } = 2_048;

    /// <summary>
    /// Descriptors kept for the host itself out of the soft limit: the runtime holds one open per loaded assembly (about
    /// 250 measured on .NET 10), plus the database, logs, listeners and files being served.
    /// </summary>
    public int ReservedFileDescriptors { get; set; } = 512;

    /// <summary>What an over-cap client is told to wait before it retries (the Retry-After header).</summary>
    public int RetryAfterSeconds { get; set; } = 5;

    /// <summary>
    /// HTTP connections that no request has yet signed in on (no valid Bearer, session cookie or sign-in link), out of
    /// <see cref="MaxHttpConnections"/>: the rest are a reserve only the operator can use. Over it, the oldest such
    /// connection is closed to make room, so a flood can delay a new connection but never keep it out.
    /// </summary>
    public int MaxUnauthenticatedConnections { get; set; } = 128;

    /// <summary>An unauthenticated connection with no request running for this long is closed (signed-in ones keep Kestrel's keep-alive).</summary>
    public double UnauthenticatedIdleSeconds { get; set; } = 5;

    /// <summary>Event streams one client may hold at once: one sign-in session (its cookie), or all Bearer callers together.</summary>
    public int MaxEventStreamsPerClient { get; set; } = 32;

    /// <summary>Wrong sign-ins (link, Bearer or cookie) answered as such per minute; beyond, 429 until the bucket refills. The right token always passes.</summary>
    public int WrongSignInsPerMinute { get; set; } = 30;
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

    /// <summary>A connection with no request (and no long-poll parked) for this long is closed.</summary>
    public double IdleTimeoutSeconds { get; set; } = 120;

    /// <summary>A reply the agent does not read for this long closes its connection (the client must read its replies).</summary>
    public double WriteTimeoutSeconds { get; set; } = 10;
}

/// <summary>
/// One of <c>Hive:Agents</c>: a plain name binds to <see cref="Name"/> alone (<c>--Hive:Agents:0 alice</c>); the object form
/// also gives what work it takes (<c>--Hive:Agents:1:Name bob --Hive:Agents:1:Capabilities:0 code</c>).
/// </summary>
[System.ComponentModel.TypeConverter(typeof(ConfiguredAgentConverter))]
public sealed class ConfiguredAgent
{
    public string? Name { get; set; }

    public List<string> Capabilities { get; set; } = [];
}

/// <summary>Lets the configuration binder read a plain string as a <see cref="ConfiguredAgent"/> of that name.</summary>
public sealed class ConfiguredAgentConverter : System.ComponentModel.TypeConverter
{
    public override bool CanConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, Type sourceType) =>
        sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    public override object? ConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, System.Globalization.CultureInfo? culture, object value) =>
        value is string name ? new ConfiguredAgent { Name = name } : base.ConvertFrom(context, culture, value);
}
