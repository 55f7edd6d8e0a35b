using System.Text;
using System.Text.Json;
using Hive.Contracts.Containers;
using Hive.Shared;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Hive.Shared.Files;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// The operator's secrets, one file each in <c>&lt;DataDir&gt;/secrets/</c> (the dir 0700, each file 0600, created with that
/// mode and never widened). A set is atomic: a temp file made with the mode, written, fsynced, renamed over the old one,
/// then the directory fsynced, so a reader (an agent's start) sees the old value or the new one, never half of one. The
/// value leaves this class only to go into an agent's environment (<see cref="ResolveFor"/>): no route, verb, event,
/// log line or file outside this dir ever holds it; the model gateway also reads a provider's key (<see cref="ValueOf"/>) to add it to that provider's requests upstream. Names only in the agent's configuration.
/// </summary>
public sealed class SecretStore(HivePaths paths, ILogger<SecretStore> logger)
{
    /// <summary>The most a value may hold (UTF-8 bytes): keys are far smaller; a PEM private key fits.</summary>
    public const int MaxValueBytes = 32 * 1024;

    public const string NamePattern = SecretNames.Pattern;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly Lock _lock = new();

    /// <summary>Values read for the gateway, which wants one on every model call; forgotten when the secret is set or deleted.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _values = new(StringComparer.Ordinal);

    public string Dir => Path.Combine(paths.DataDir, "secrets");

    public static bool IsName(string? name) => SecretNames.IsWellFormed(name);

    /// <summary>Why a value cannot be a secret (never quoting it), or null when it can.</summary>
    public static string? ProblemWithValue(string? value, bool checkSize = true)
    {
        if (string.IsNullOrEmpty(value)) return "value is required: the secret's value, a non-empty string";
        if (value.Contains('\0')) return "value must not contain NUL: an environment variable cannot hold one";
        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            return "value is not valid Unicode (an unpaired surrogate)";
        }
        return checkSize && bytes > MaxValueBytes ? $"value is limited to {MaxValueBytes} UTF-8 bytes" : null;
    }

    public IReadOnlyList<SecretView> List()
    {
        if (!Directory.Exists(Dir)) return [];
        return new DirectoryInfo(Dir).EnumerateFiles()
            .Where(f => IsName(f.Name) && f.LinkTarget is null)
            .Select(f => new SecretView(f.Name, new DateTimeOffset(f.LastWriteTimeUtc, TimeSpan.Zero)))
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
    }

    public bool Exists(string name) => IsName(name) && File.Exists(PathOf(name));

    /// <summary>Writes the secret (new or replaced), atomically; true when it did not exist before.</summary>
    public (SecretView Secret, bool Created) Set(string name, string value)
    {
        if (!IsName(name)) throw new BadRequestException($"a secret's name must match {NamePattern}");
        if (ProblemWithValue(value) is { } problem) throw new BadRequestException(problem);
        lock (_lock)
        {
            HivePaths.EnsurePrivateDirectory(Dir);
            var path = PathOf(name);
            var created = !File.Exists(path);
            PrivateFile.Write(path, StrictUtf8.GetBytes(value), Durability.Durable);
            _values.TryRemove(name, out _);
            logger.LogInformation("secrets: {Secret} {How} by the operator", name, created ? "created" : "replaced");
            return (new SecretView(name, new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero)), created);
        }
    }

    /// <summary>Deletes the secret; false when there was none of that name.</summary>
    public bool Delete(string name)
    {
        if (!IsName(name)) return false;
        lock (_lock)
        {
            var path = PathOf(name);
            if (!File.Exists(path)) return false;
            File.Delete(path);
            _values.TryRemove(name, out _);
            PrivateFile.SyncDirectory(Dir);
            logger.LogInformation("secrets: {Secret} deleted by the operator", name);
            return true;
        }
    }

    /// <summary>
    /// The agent's environment with its secrets added (env var name → the secret's value), for the driver and nothing else.
    /// A secret that does not exist refuses the start: a 409 naming every missing one.
    /// </summary>
    public IReadOnlyDictionary<string, string> ResolveFor(string agent, IReadOnlyDictionary<string, string> env, IReadOnlyDictionary<string, string>? secrets)
    {
        if (secrets is not { Count: > 0 }) return env;
        if (MissingOf(secrets) is { } missing) throw new ConflictException(MissingReason(agent, missing));
        var merged = new Dictionary<string, string>(env, StringComparer.Ordinal);
        foreach (var (variable, secret) in secrets)
        {
            try
            {
                merged[variable] = StrictUtf8.GetString(File.ReadAllBytes(PathOf(secret)));
            }
            catch (Exception e) when (e is FileNotFoundException or DecoderFallbackException)
            {
                throw new ConflictException(MissingReason(agent, [secret]));
            }
        }
        return merged;
    }

    /// <summary>A secret's value for the model gateway, which adds it to a provider's request on the host side; null when it is not set.</summary>
    public string? ValueOf(string name)
    {
        if (!IsName(name)) return null;
        if (_values.TryGetValue(name, out var known)) return known;
        try
        {
            lock (_lock) return _values[name] = StrictUtf8.GetString(File.ReadAllBytes(PathOf(name)));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>The referenced secrets that do not exist, or null when all do.</summary>
    public IReadOnlyList<string>? MissingOf(IReadOnlyDictionary<string, string>? secrets)
    {
        var missing = (secrets ?? new Dictionary<string, string>()).Values.Distinct(StringComparer.Ordinal).Where(s => !Exists(s)).Order(StringComparer.Ordinal).ToList();
        return missing.Count == 0 ? null : missing;
    }

    public static string MissingPrefix(string agent) => $"{agent} needs the secret";

    public static string MissingReason(string agent, IReadOnlyList<string> missing) =>
        $"{agent} needs the secret{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing)}, which {(missing.Count == 1 ? "does" : "do")} not exist: " +
        "set it with PUT /api/secrets/{name} or `hivectl secrets set NAME` (the value on stdin), then start the agent";

    /// <summary>The stored form of an agent's secret references: null when it has none.</summary>
    internal static JsonMap? Stored(IReadOnlyDictionary<string, string>? secrets) =>
        secrets is { Count: > 0 } ? new JsonMap(secrets) : null;

    internal static IReadOnlyDictionary<string, string>? Normalised(IReadOnlyDictionary<string, string>? secrets) =>
        secrets is { Count: > 0 } ? secrets : null;

    private string PathOf(string name) => Path.Combine(Dir, name);
}
