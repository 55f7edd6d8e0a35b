using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Microsoft.Extensions.Configuration;

namespace Hive.Features.Constellation;

/// <summary><c>Hive:Constellation</c>: off (the hive alone) while <c>Name</c> is empty.</summary>
public sealed class ConstellationOptions
{
    public const string Section = "Hive:Constellation";

    /// <summary>This hive's name (lowercase, like an agent's): mail to <c>agent@name</c> comes here. Immutable once recorded.</summary>
    public string? Name { get; set; }

    public BrokerOptions Broker { get; set; } = new();

    /// <summary><c>Hive:PublicUrl</c> (not of this section): where this hive's dashboard is, told to the other hives.</summary>
    public string? DashboardUrl { get; internal set; }

    /// <summary>A 0600 file holding <c>user:password</c>, this hive's RabbitMQ user.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>The durable topic exchange every hive publishes mail to, routing key = the destination hive.</summary>
    public string Exchange { get; set; } = "hive.mail";

    /// <summary>How often this hive tells the others it is alive (and its agents, outbox depth, inbox lag); fractions allowed.</summary>
    public double HeartbeatSeconds { get; set; } = 10;

    /// <summary>The oldest unsent outbox row waiting longer than this raises the outbox alert (dashboard and pushes).</summary>
    public double OutboxAlertSeconds { get; set; } = 120;

    /// <summary>Unacknowledged deliveries the inbox holds at once.</summary>
    public ushort Prefetch { get; set; } = 32;

    /// <summary>Outbox rows the relay has in flight at once (published, their confirms awaited together).</summary>
    public int PublishWindow { get; set; } = 64;

    /// <summary>
    /// How long the inbox holds mail that arrived ahead of a gap in its sender's sequence at least. After it, the mail is
    /// taken in once the sender's heartbeat says the missing numbers have left its outbox (lost on the way, or refused as
    /// poison here); while the sender says it still holds them, or is not heard, the mail waits, at most
    /// <see cref="ReorderHoldMaxSeconds"/>.
    /// </summary>
    // A minute: a gap that has left the sender is in the broker, and a broker restarted under load was seen to hand back
    // the mail its dead consumers held more than 10 s after what followed it.
    public int ReorderWindowSeconds { get; set; } = 60;

    /// <summary>The longest the inbox holds mail ahead of a gap, whatever the sender says (or if it says nothing).</summary>
    public int ReorderHoldMaxSeconds { get; set; } = 3600;

    public bool Enabled => !string.IsNullOrEmpty(Name);
}

public sealed class BrokerOptions
{
    public string? Host { get; set; }

    /// <summary>
    /// More nodes of the same cluster (<c>host</c> or <c>host:port</c>), tried in turn when a connection is made: a hive
    /// keeps its mail moving while one node is down. <see cref="Host"/> is optional when these are given.
    /// </summary>
    public List<string> Hosts { get; set; } = [];

    public int Port { get; set; } = 5672;

    /// <summary>Every node to try, <see cref="Host"/> first, each with its port (<see cref="Port"/> unless it names one).</summary>
    public IReadOnlyList<(string Host, int Port)> Nodes() =>
        (string.IsNullOrWhiteSpace(Host) ? Hosts : [Host, .. Hosts]).Select(entry =>
        {
            var colon = entry.LastIndexOf(':');
            return colon > 0 && int.TryParse(entry.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
                ? (entry[..colon], port)
                : (entry, Port);
        }).ToList();
    public string VirtualHost { get; set; } = "/";

    public TlsOptions Tls { get; set; } = new();
}

/// <summary>
/// <c>Hive:Constellation:Broker:Tls</c>: AMQP over TLS (RabbitMQ's TLS listener, 5671 by convention: set <c>Port</c> too).
/// The broker's certificate is checked against the system's roots, or only against <c>CaFile</c> when one is given, and
/// must name <c>ServerName</c> (default: the broker's host).
/// </summary>
public sealed class TlsOptions
{
    public bool Enabled { get; set; }
    public string? ServerName { get; set; }

    /// <summary>A PEM file of the certificate authority that signed the broker's certificate (a private CA).</summary>
    public string? CaFile { get; set; }
}

/// <summary>This hive's RabbitMQ user; the password never reaches a log (ToString hides it).</summary>
internal sealed record BrokerCredentials(string User, string Password)
{
    public override string ToString() => $"{User}:***";
}

/// <summary>The configuration checked once, before anything starts: each problem is one line naming the setting.</summary>
internal static class ConstellationSettings
{
    public static (ConstellationOptions Options, BrokerCredentials? Credentials) Load(IConfiguration configuration)
    {
        var options = configuration.GetSection(ConstellationOptions.Section).Get<ConstellationOptions>() ?? new ConstellationOptions();
        options.DashboardUrl = configuration["Hive:PublicUrl"];
        if (!options.Enabled)
        {
            if (!string.IsNullOrEmpty(options.Broker.Host) || options.Broker.Hosts.Count > 0 || !string.IsNullOrEmpty(options.CredentialsFile))
                throw new HiveStartupException("Hive:Constellation:Broker or CredentialsFile is set but Hive:Constellation:Name is empty: name this hive, or remove them");
            return (options, null);
        }
        if (!AgentNames.IsWellFormed(options.Name) || AgentNames.Reserved.Contains(options.Name!))
            throw new HiveStartupException($"Hive:Constellation:Name must match ^[a-z][a-z0-9-]{{0,30}}$ and not be a reserved name; got {Quote(options.Name!)}");
        if (string.IsNullOrWhiteSpace(options.Broker.Host) && options.Broker.Hosts.Count == 0)
            throw new HiveStartupException("Hive:Constellation:Broker:Host (or Broker:Hosts) is required when Hive:Constellation:Name is set");
        if (options.Broker.Port is < 1 or > 65535)
            throw new HiveStartupException($"Hive:Constellation:Broker:Port must be 1-65535; got {options.Broker.Port}");
        foreach (var (host, port) in options.Broker.Nodes())
            if (string.IsNullOrWhiteSpace(host) || host.Any(char.IsWhiteSpace) || port is < 1 or > 65535)
                throw new HiveStartupException($"Hive:Constellation:Broker:Hosts: each entry must be host or host:port (port 1-65535); got {Quote($"{host}:{port}")}");
        if (string.IsNullOrEmpty(options.Broker.VirtualHost))
            throw new HiveStartupException("Hive:Constellation:Broker:VirtualHost must not be empty (the default is /)");
        if (string.IsNullOrWhiteSpace(options.Exchange))
            throw new HiveStartupException("Hive:Constellation:Exchange must not be empty");
        if (options.Prefetch == 0)
            throw new HiveStartupException("Hive:Constellation:Prefetch must be at least 1");
        if (!(options.HeartbeatSeconds is >= 0.1 and <= 3600))
            throw new HiveStartupException($"Hive:Constellation:HeartbeatSeconds must be 0.1-3600; got {options.HeartbeatSeconds}");
        if (!(options.OutboxAlertSeconds is > 0 and <= 86_400))
            throw new HiveStartupException($"Hive:Constellation:OutboxAlertSeconds must be more than 0 and at most 86400; got {options.OutboxAlertSeconds}");
        CheckTls(options.Broker.Tls);
        if (options.PublishWindow is < 1 or > 1024)
            throw new HiveStartupException($"Hive:Constellation:PublishWindow must be 1-1024; got {options.PublishWindow}");
        if (options.ReorderWindowSeconds is < 1 or > 3600)
            throw new HiveStartupException($"Hive:Constellation:ReorderWindowSeconds must be 1-3600; got {options.ReorderWindowSeconds}");
        if (options.ReorderHoldMaxSeconds < options.ReorderWindowSeconds || options.ReorderHoldMaxSeconds > 86_400)
            throw new HiveStartupException($"Hive:Constellation:ReorderHoldMaxSeconds must be from ReorderWindowSeconds ({options.ReorderWindowSeconds}) to 86400; got {options.ReorderHoldMaxSeconds}");
        return (options, ReadCredentials(options.CredentialsFile));
    }

    private static void CheckTls(TlsOptions tls)
    {
        if (!tls.Enabled)
        {
            if (!string.IsNullOrEmpty(tls.CaFile) || !string.IsNullOrEmpty(tls.ServerName))
                throw new HiveStartupException("Hive:Constellation:Broker:Tls:CaFile or ServerName is set but Tls:Enabled is not: enable TLS, or remove them");
            return;
        }
        if (string.IsNullOrEmpty(tls.CaFile)) return;
        try
        {
            var certificates = BrokerTls.ReadAuthorities(tls.CaFile);
            if (certificates.Count == 0) throw new HiveStartupException($"Hive:Constellation:Broker:Tls:CaFile {tls.CaFile} holds no PEM certificate");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new HiveStartupException($"Hive:Constellation:Broker:Tls:CaFile {tls.CaFile}: cannot read it as PEM certificates ({e.GetType().Name})");
        }
    }

    private static BrokerCredentials ReadCredentials(string? path)
    {
        if (string.IsNullOrEmpty(path))
            throw new HiveStartupException("Hive:Constellation:CredentialsFile is required when Hive:Constellation:Name is set");
        UnixFileMode mode;
        try
        {
            mode = File.GetUnixFileMode(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HiveStartupException($"Hive:Constellation:CredentialsFile {path}: cannot read it ({e.Message})");
        }
        const UnixFileMode groupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                                          UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((mode & groupOrOther) != 0)
            throw new HiveStartupException($"Hive:Constellation:CredentialsFile {path} is readable by others (mode {Convert.ToString((int)mode, 8)}): chmod 600 it");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HiveStartupException($"Hive:Constellation:CredentialsFile {path}: cannot read it ({e.GetType().Name})");
        }
        // Never echo the content: a malformed file may still hold a password.
        var line = text.Split('\n')[0].TrimEnd('\r');
        var colon = line.IndexOf(':');
        if (colon <= 0 || colon == line.Length - 1)
            throw new HiveStartupException($"Hive:Constellation:CredentialsFile {path} must hold one line user:password");
        return new BrokerCredentials(line[..colon], line[(colon + 1)..]);
    }

    private static string Quote(string text) => text.Length <= 40 ? $"'{text}'" : $"'{text[..40]}…'";
}
