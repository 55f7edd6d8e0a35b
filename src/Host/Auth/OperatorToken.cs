using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Hive.Shared;
using Hive.Shared.Errors;
using Hive.Shared.Files;

namespace Hive.Host.Auth;

/// <summary>
/// The operator's token and the session cookies signed with it. Every comparison hashes what was presented and
/// compares fixed-length hashes in constant time, so neither the content nor the length of the token leaks through
/// timing.
/// </summary>
public sealed class OperatorToken
{
    public const string FileName = "operator-token";
    /// <summary>The sign-in link of the latest start (<c>&lt;DataDir&gt;/sign-in-link</c>, 0600), rewritten at each start.</summary>
    public const string SignInLinkFileName = "sign-in-link";
    public const int MinimumLength = 16;
    /// <summary>v3: the issue time is signed into the value (v2 cookies, without it, are refused: sign in once more).</summary>
    private static readonly byte[] SessionLabel = "hive_session/v3"u8.ToArray();
    private const int SessionIdBytes = 16;
    private const int MacBytes = 32;
    /// <summary>A session issued this far in the future (the clock was set back) is refused like an expired one.</summary>
    private static readonly TimeSpan FutureSkew = TimeSpan.FromMinutes(5);

    private readonly byte[] _tokenHash;
    private readonly byte[] _sessionKey;
    private readonly TimeProvider _clock;

    /// <param name="sessionLifetime">How long a session cookie is good for after its sign-in (<c>Hive:Auth:SessionDays</c>).</param>
    public OperatorToken(string token, TimeSpan sessionLifetime, TimeProvider? clock = null)
    {
        Value = token;
        SessionLifetime = sessionLifetime;
        _clock = clock ?? TimeProvider.System;
        _tokenHash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        // A session cookie is "<id>.<issued at>.<HMAC(key, id.issued at)>" with the key derived from the token: the
        // browser's cookie store never holds the credential scripts use as Bearer, a cookie is no good as a Bearer (so it
        // cannot skip the same-origin check), each sign-in is a session of its own (the unit the event-stream cap counts),
        // its age is checked here and not only by the browser, and sessions survive a restart and end when the token is
        // replaced, with no server-side session table (which is also why one cannot be revoked alone: see NOTES.md).
        _sessionKey = HMACSHA256.HashData(Encoding.UTF8.GetBytes(token), SessionLabel);
    }

    /// <summary>The token itself: for the sign-in link (its 0600 file, and the sign-in line on a terminal) and nothing else.</summary>
    public string Value { get; }

    public TimeSpan SessionLifetime { get; }

    /// <summary>What a presented session cookie is: one of ours and current, one of ours but too old, or not ours.</summary>
    public enum Session { Valid, Expired, Wrong }

    /// <summary>A new session's <c>hive_session</c> cookie value (one per sign-in), issued now; <paramref name="expires"/> is when it ends.</summary>
    public string NewSession(out DateTimeOffset expires)
    {
        var now = _clock.GetUtcNow();
        expires = now + SessionLifetime;
        return NewSession(now);
    }

    /// <summary>A session issued at <paramref name="issuedAt"/> (tests make old ones with it).</summary>
    public string NewSession(DateTimeOffset issuedAt)
    {
        var id = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SessionIdBytes));
        var signed = id + "." + issuedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return signed + "." + Base64Url.EncodeToString(Mac(signed));
    }

    public bool IsToken(string? presented) =>
        presented is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _tokenHash);

    /// <summary>Whether <paramref name="presented"/> is a current session this token signed; <paramref name="sessionId"/> names it (not a secret).</summary>
    public bool IsSession(string? presented, out string sessionId) => CheckSession(presented, out sessionId) == Session.Valid;

    /// <summary>
    /// Checks the signature first (in constant time), then the age: a session older than <see cref="SessionLifetime"/>,
    /// or issued in the future, is <see cref="Session.Expired"/>; anything that is not ours is <see cref="Session.Wrong"/>.
    /// </summary>
    public Session CheckSession(string? presented, out string sessionId)
    {
        sessionId = "";
        if (presented is null || presented.Length > 160) return Session.Wrong;
        var lastDot = presented.LastIndexOf('.');
        var firstDot = presented.IndexOf('.');
        if (firstDot <= 0 || lastDot <= firstDot + 1 || lastDot - firstDot - 1 > 12) return Session.Wrong;
        Span<byte> mac = stackalloc byte[48];
        if (!Base64Url.TryDecodeFromChars(presented.AsSpan(lastDot + 1), mac, out var written) || written != MacBytes) return Session.Wrong;
        var signed = presented[..lastDot];
        if (!CryptographicOperations.FixedTimeEquals(mac[..written], Mac(signed))) return Session.Wrong;
        // Ours: the issue time is what this host wrote.
        if (!long.TryParse(presented.AsSpan(firstDot + 1, lastDot - firstDot - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return Session.Wrong;
        var issued = DateTimeOffset.FromUnixTimeSeconds(seconds);
        var now = _clock.GetUtcNow();
        if (now - issued >= SessionLifetime || issued - now > FutureSkew) return Session.Expired;
        sessionId = presented[..firstDot];
        return Session.Valid;
    }

    private byte[] Mac(string signed) => HMACSHA256.HashData(_sessionKey, Encoding.UTF8.GetBytes(signed));

    /// <summary>A token is printable ASCII without spaces (it travels in a URL and a header), at least 16 characters.</summary>
    public static string? Problem(string token) =>
        token.Length < MinimumLength ? $"is shorter than {MinimumLength} characters"
        : token.Any(c => c is <= ' ' or > '~') ? "has characters other than printable ASCII"
        : null;

    /// <summary>
    /// Reads <c>&lt;dataDir&gt;/operator-token</c>, or creates it: 32 random bytes, base64url, mode 0600. Creation is
    /// atomic and never clobbers: the token is written and flushed to a private temp file, then hard-linked to the final
    /// name, which fails if another process created it first (then that process's token is read and used).
    /// </summary>
    /// <param name="narrowed">True when an existing file was readable by others and was narrowed to 0600.</param>
    public static string ReadOrCreate(string dataDir, out bool narrowed)
    {
        var path = Path.Combine(dataDir, FileName);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            if (TryRead(path, out var existing, out narrowed)) return existing;
            if (TryCreate(path) is { } created) return created;
        }
        throw new HiveStartupException($"could not read or create {path}");
    }

    /// <summary>
    /// Writes <paramref name="text"/> to <paramref name="path"/>, 0600 from the first byte whatever the umask, whole or not at
    /// all: a private temp file beside it, synced, renamed over the name (so a link planted there is replaced, never followed).
    /// </summary>
    public static void WritePrivately(string path, string text) => PrivateFile.WriteText(path, text, Durability.NeverTorn);

    private static bool TryRead(string path, out string token, out bool narrowed)
    {
        token = "";
        narrowed = false;
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HiveStartupException($"cannot read {path}: {e.Message}");
        }

        token = text.Trim();
        if (Problem(token) is { } problem)
            throw new HiveStartupException($"{path} {problem}: delete it and the host creates a new token");
        if ((File.GetUnixFileMode(path) & ~HivePaths.PrivateFile) != 0)
        {
            File.SetUnixFileMode(path, HivePaths.PrivateFile);
            narrowed = true;
        }
        return true;
    }

    private static string? TryCreate(string path)
    {
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        try
        {
            // never clobbers: another process that created it first wins, and its token is read and used
            return PrivateFile.TryCreate(path, Encoding.ASCII.GetBytes(token + "\n"), Durability.NeverTorn) ? token : null;
        }
        catch (IOException e)
        {
            throw new HiveStartupException(e.Message);
        }
    }
}
