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

    /// <summary>A 0600 file holding <c>user:password</c>, this hive's RabbitMQ user.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>The durable exchange every hive publishes to, routing key = the destination hive.</summary>
    public string Exchange { get; set; } = "hive.mail";

    /// <summary>Unacknowledged deliveries the inbox holds at once.</summary>
    public ushort Prefetch { get; set; } = 32;

    /// <summary>Outbox rows the relay has in flight at once (published, their confirms awaited together).</summary>
    public int PublishWindow { get; set; } = 64;

    /// <summary>How long the inbox holds mail that arrived ahead of a gap in its sender's sequence before taking it in anyway.</summary>
    public int ReorderWindowSeconds { get; set; } = 10;

    public bool Enabled => !string.IsNullOrEmpty(Name);
}

public sealed class BrokerOptions
{
    public string? Host { get; set; }
    public int Port { get; set; } = 5672;
    public string VirtualHost { get; set; } = "/";
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
        if (!options.Enabled)
        {
            if (!string.IsNullOrEmpty(options.Broker.Host) || !string.IsNullOrEmpty(options.CredentialsFile))
                throw new HiveStartupException("Hive:Constellation:Broker or CredentialsFile is set but Hive:Constellation:Name is empty: name this hive, or remove them");
            return (options, null);
        }
        if (!AgentNames.IsWellFormed(options.Name) || AgentNames.Reserved.Contains(options.Name!))
            throw new HiveStartupException($"Hive:Constellation:Name must match ^[a-z][a-z0-9-]{{0,30}}$ and not be a reserved name; got {Quote(options.Name!)}");
        if (string.IsNullOrWhiteSpace(options.Broker.Host))
            throw new HiveStartupException("Hive:Constellation:Broker:Host is required when Hive:Constellation:Name is set");
        if (options.Broker.Port is < 1 or > 65535)
            throw new HiveStartupException($"Hive:Constellation:Broker:Port must be 1-65535; got {options.Broker.Port}");
        if (string.IsNullOrEmpty(options.Broker.VirtualHost))
            throw new HiveStartupException("Hive:Constellation:Broker:VirtualHost must not be empty (the default is /)");
        if (string.IsNullOrWhiteSpace(options.Exchange))
            throw new HiveStartupException("Hive:Constellation:Exchange must not be empty");
        if (options.Prefetch == 0)
            throw new HiveStartupException("Hive:Constellation:Prefetch must be at least 1");
        if (options.PublishWindow is < 1 or > 1024)
            throw new HiveStartupException($"Hive:Constellation:PublishWindow must be 1-1024; got {options.PublishWindow}");
        if (options.ReorderWindowSeconds is < 1 or > 3600)
            throw new HiveStartupException($"Hive:Constellation:ReorderWindowSeconds must be 1-3600; got {options.ReorderWindowSeconds}");
        return (options, ReadCredentials(options.CredentialsFile));
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
