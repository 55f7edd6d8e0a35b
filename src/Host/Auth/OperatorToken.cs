using Hive.Shared.Errors;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Hive.Shared;

namespace Hive.Host.Auth;

/// <summary>
/// The operator's token and the session cookies signed with it. Every comparison hashes what was presented and
/// compares fixed-length hashes in constant time, so neither the content nor the length of the token leaks through
/// timing.
/// </summary>
public sealed class OperatorToken
{
    public const string FileName = "operator-token";
    public const int MinimumLength = 16;
    private static readonly byte[] SessionLabel = "hive_session/v2"u8.ToArray();
    private const int SessionIdBytes = 16;
    private const int MacBytes = 32;

    private readonly byte[] _tokenHash;
    private readonly byte[] _sessionKey;

    public OperatorToken(string token)
    {
        Value = token;
        _tokenHash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        // A session cookie is "<id>.<HMAC(key, id)>" with the key derived from the token: the browser's cookie store never
        // holds the credential scripts use as Bearer, a cookie is no good as a Bearer (so it cannot skip the same-origin
        // check), each sign-in is a session of its own (the unit the event-stream cap counts), and sessions survive a
        // restart and end when the token is replaced, with no server-side session table.
        _sessionKey = HMACSHA256.HashData(Encoding.UTF8.GetBytes(token), SessionLabel);
    }

    /// <summary>The token itself: for the one sign-in line and nothing else.</summary>
    public string Value { get; }

    /// <summary>A new session's <c>hive_session</c> cookie value (one per sign-in).</summary>
    public string NewSession()
    {
        var id = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SessionIdBytes));
        return id + "." + Base64Url.EncodeToString(Mac(id));
    }

    public bool IsToken(string? presented) =>
        presented is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _tokenHash);

    /// <summary>Whether <paramref name="presented"/> is a session this token signed; <paramref name="sessionId"/> names it (not a secret).</summary>
    public bool IsSession(string? presented, out string sessionId)
    {
        sessionId = "";
        var dot = presented?.IndexOf('.') ?? -1;
        if (presented is null || dot is <= 0 or > 64 || presented.Length - dot - 1 > 64) return false;
        Span<byte> mac = stackalloc byte[48];
        if (!Base64Url.TryDecodeFromChars(presented.AsSpan(dot + 1), mac, out var written) || written != MacBytes) return false;
        var id = presented[..dot];
        if (!CryptographicOperations.FixedTimeEquals(mac[..written], Mac(id))) return false;
        sessionId = id;
        return true;
    }

    private byte[] Mac(string id) => HMACSHA256.HashData(_sessionKey, Encoding.UTF8.GetBytes(id));

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
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions
                   {
                       Mode = FileMode.CreateNew,
                       Access = FileAccess.Write,
                       UnixCreateMode = HivePaths.PrivateFile, // private from the first byte...
                   }))
            {
                File.SetUnixFileMode(stream.SafeFileHandle, HivePaths.PrivateFile); // ...and exactly 0600, whatever the umask
                stream.Write(Encoding.ASCII.GetBytes(token + "\n"));
                stream.Flush(flushToDisk: true);
            }
            if (Link(temp, path) == 0) return token;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EEXIST) return null; // another process won the race: read its token
            throw new HiveStartupException($"cannot create {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private const int EEXIST = 17;

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);
}
