namespace Hive.Features.Forge;

/// <summary>The <c>Hive:Forge</c> configuration section. The forge is off while <see cref="Url"/> is empty.</summary>
public sealed class ForgeOptions
{
    /// <summary>The Forgejo's base URL (<c>http://127.0.0.1:3000</c>), without credentials; empty: no forge.</summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// An existing site admin, to bootstrap Hive's own <c>core</c> user: a user name and password (prefer
    /// <c>Hive__Forge__AdminPassword</c> in the environment: arguments show in <c>ps</c>), or <see cref="AdminToken"/> (a
    /// token with <c>write:admin</c>). Not needed once <c>&lt;DataDir&gt;/forge-core-token</c> exists.
    /// </summary>
    public string AdminUser { get; set; } = "";

    public string AdminPassword { get; set; } = "";

    public string AdminToken { get; set; } = "";

    /// <summary>Each API call's limit.</summary>
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>A <c>git push</c> of the meta repo's limit.</summary>
    public double PushTimeoutSeconds { get; set; } = 60;

    /// <summary>Besides at start-up and after each spawn, a sweep runs this often (so a failure heals without a restart).</summary>
    public double SweepMinutes { get; set; } = 15;

    /// <summary>Forgejo wants an e-mail per user, unique: agents get <c>&lt;name&gt;@&lt;EmailDomain&gt;</c>.</summary>
    public string EmailDomain { get; set; } = "hive.invalid";

    /// <summary>
    /// The file holding the secret Forgejo signs its webhook deliveries with (HMAC-SHA256 of the body); empty:
    /// <c>&lt;DataDir&gt;/forge-webhook-secret</c>, made (0600, random) at start-up when missing.
    /// </summary>
    public string WebhookSecretFile { get; set; } = "";

    /// <summary>
    /// Where Forgejo reaches this hive's <c>POST /hooks/forgejo</c>, as the sweep registers it on the hive's repositories;
    /// empty: <c>Hive:PublicUrl</c> + <c>/hooks/forgejo</c>, and with neither set no webhook is registered.
    /// </summary>
    public string WebhookUrl { get; set; } = "";

    /// <summary>The largest webhook body read (a push of many commits is tens of KiB); a larger one is refused with 413.</summary>
    public int WebhookMaxBytes { get; set; } = 1024 * 1024;

    public bool Enabled => Url.Length > 0;

    public Uri BaseUri => new(Url.TrimEnd('/') + "/");

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);
}
