using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Hive.Shared.Data;

namespace Hive.Features.Notifications;

/// <summary>
/// One-tap link tokens: derived from the hive's own key (made by the migration, never leaving the database) and the
/// item and action they stand for, so a retried push carries the same links while only their hashes are stored. A
/// token is 32 bytes of HMAC, base64url: unguessable, and useless for anything but its one decision.
/// </summary>
internal sealed class ActionTokens(IDb db)
{
    private byte[]? _key;

    /// <summary>The token of action <paramref name="index"/> of item <paramref name="itemId"/> (the key read once, on a connection of its own).</summary>
    public string Of(long itemId, int index)
    {
        if (_key is null)
        {
            using var connection = db.Open();
            _key = connection.QuerySingle<byte[]>("SELECT key FROM notification_key WHERE id = 1");
        }
        return Derive(_key, itemId, index);
    }

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Derive(byte[] key, long itemId, int index) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"act:{itemId}:{index}")));
}

/// <summary><c>Hive:PublicUrl</c>: where the operator's phone reaches this hive; unset, pushes carry no action links.</summary>
public sealed class PublicUrl(string? value)
{
    public bool IsSet => Value is not null;

    public string? Value { get; } = string.IsNullOrWhiteSpace(value) ? null : value.TrimEnd('/');

    public string? Of(string path) => Value is null ? null : Value + path;
}
