using System.Security.Cryptography;
using System.Text;
using Hive.Shared;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge.Webhooks;

/// <summary>
/// The secret Forgejo signs each webhook delivery with (<c>X-Forgejo-Signature</c>: the hex HMAC-SHA256 of the raw body,
/// keyed with the secret's text), kept in <see cref="ForgeOptions.WebhookSecretFile"/> (default
/// <c>&lt;DataDir&gt;/forge-webhook-secret</c>, 0600): read once, made (32 random bytes, base64url) when missing. It goes to
/// the forge only in the body of the call that registers a hook; never into a log line, an event, an error or an argv.
/// </summary>
internal sealed class WebhookSecret(IOptions<ForgeOptions> options, HivePaths paths)
{
    private readonly Lock _lock = new();
    private string? _value;

    public string FilePath => options.Value.WebhookSecretFile is { Length: > 0 } file
        ? Path.GetFullPath(file)
        : Path.Combine(paths.DataDir, "forge-webhook-secret");

    /// <summary>The secret, made now when its file is missing (a <see cref="ForgeException"/> when it cannot be read or written).</summary>
    public string Value
    {
        get
        {
            lock (_lock) return _value ??= TokenFile.Read(FilePath) ?? Create();
        }
    }

    /// <summary>An HMAC-SHA256 under the secret, to take over a body as it arrives.</summary>
    public IncrementalHash NewMac() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(Value));

    /// <summary>
    /// The MAC a signature header states (hex, optionally <c>sha256=</c> as GitHub-style senders write it); null when it is
    /// missing or not 32 bytes of hex, which no body can match (so such a post is refused before its body is read).
    /// </summary>
    public static byte[]? Stated(string? signature)
    {
        if (signature is null) return null;
        var hex = signature.Trim();
        if (hex.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase)) hex = hex["sha256=".Length..];
        if (hex.Length != 64) return null;
        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>True when <paramref name="signature"/> states <paramref name="mac"/> (a body's HMAC under the secret); compared in constant time.</summary>
    public static bool Matches(byte[] mac, string? signature) =>
        Stated(signature) is { } given && CryptographicOperations.FixedTimeEquals(mac, given);

    private string Create()
    {
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        using var pending = TokenFile.Prepare(FilePath);
        try
        {
            pending.Commit(secret);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ForgeException($"{FilePath} cannot be written ({e.Message})");
        }
        return secret;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
