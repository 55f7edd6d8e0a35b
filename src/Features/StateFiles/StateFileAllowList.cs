using System.IO.Enumeration;
using Hive.Shared;
using Hive.Shared.Agents;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace Hive.Features.StateFiles;

public enum StateFileVerdict
{
    /// <summary>A readable state file.</summary>
    Allowed,
    /// <summary>Not a path at all (empty, NUL, over-long): 400.</summary>
    Malformed,
    /// <summary>Outside the allow-list, a secret, or not a regular file: 403.</summary>
    Refused,
    /// <summary>Inside the allow-list but nothing is there: 404.</summary>
    Missing,
}

/// <summary>
/// THE path allow-list: whether a path names a readable state file (a regular file under an agent's
/// <c>state/</c> dir or under <c>shared/</c>, in container or host form), and the only way to open one.
/// Every feature that reads, links or stores a state-file path asks this.
/// </summary>
public interface IStateFileAllowList
{
    /// <summary>
    /// Decides (by opening and closing); <see cref="StateFileVerdict.Allowed"/> only for existing regular files.
    /// With <paramref name="agent"/>, only that agent's own state dir and <c>shared/</c> count: what an agent may name.
    /// </summary>
    StateFileVerdict Check(string? path, string? agent = null);

    /// <summary>Opens a state file, verifying what was really opened; the verdict says why when the handle is null.</summary>
    (StateFileVerdict Verdict, OpenedStateFile? File) Open(string? path, string? agent = null);

    /// <summary>
    /// Whether the path names a readable state file, yes or no: <see cref="Check"/> without the walk that tells a missing
    /// file (404) from a refused one (403). For callers that never say why (the ref scanner, payload checks).
    /// </summary>
    bool Accepts(string? path, string? agent = null);

    /// <summary>Whether a file of this name is one never served, linked or copied out of a state dir (a credential: <c>forge-token</c>, <c>*.key</c>, ...).</summary>
    bool IsDeniedName(string fileName);
}

public sealed class OpenedStateFile(SafeFileHandle handle, string hostPath) : IDisposable
{
    public SafeFileHandle Handle { get; } = handle;
    public string HostPath { get; } = hostPath;
    public string Name => Path.GetFileName(HostPath);
    public void Dispose() => Handle.Dispose();
}

internal sealed class StateFileAllowList : IStateFileAllowList
{
    public const int MaxPathBytes = 4096;

    private readonly string _dataDir;        // as configured, made absolute
    private readonly string? _dataDirReal;   // the same with symlinks resolved (e.g. /tmp -> /private/tmp)
    private readonly string[] _denyPatterns;

    public StateFileAllowList(HivePaths paths, IOptions<StateFilesOptions> options)
    {
        _dataDir = paths.DataDir.TrimEnd('/');
        _dataDirReal = Native.CanonicalPath(_dataDir);
        _denyPatterns = options.Value.EffectiveDenyNames.Select(name => name.ToLowerInvariant()).ToArray();
    }

    public StateFileVerdict Check(string? path, string? agent = null)
    {
        var (verdict, file) = Open(path, agent);
        file?.Dispose();
        return verdict;
    }

    public bool Accepts(string? path, string? agent = null)
    {
        var (verdict, file) = Open(path, agent, explain: false);
        file?.Dispose();
        return verdict == StateFileVerdict.Allowed;
    }

    public (StateFileVerdict Verdict, OpenedStateFile? File) Open(string? path, string? agent = null) => Open(path, agent, explain: true);

    private (StateFileVerdict Verdict, OpenedStateFile? File) Open(string? path, string? agent, bool explain)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0') || System.Text.Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
            return (StateFileVerdict.Malformed, null);

        var request = Split(path);
        if (request is null) return (StateFileVerdict.Refused, null);
        var (rootLexical, rest) = request.Value;
        if (agent is not null && rootLexical != _dataDir + "/shared" && rootLexical != _dataDir + "/agents/" + agent + "/state")
            return (StateFileVerdict.Refused, null);

        // The root itself must be a real directory exactly where it should be: an agent that swapped its state dir
        // for a symlink has no readable files.
        var rootReal = Native.CanonicalPath(rootLexical);
        if (rootReal is null)
            return (new FileInfo(rootLexical).LinkTarget is null ? StateFileVerdict.Missing : StateFileVerdict.Refused, null);
        if (_dataDirReal is null || rootReal != _dataDirReal + rootLexical[_dataDir.Length..])
            return (StateFileVerdict.Refused, null);

        var (verdict, resolved) = Resolve(rootLexical, rootReal, rest, explain);
        if (verdict != StateFileVerdict.Allowed) return (verdict, null);
        if (IsDenied(Path.GetFileName(resolved!)) || IsDenied(rest.LastOrDefault() ?? "")) return (StateFileVerdict.Refused, null);

        var handle = Native.OpenNoFollow(resolved!);
        if (handle is null) return (StateFileVerdict.Refused, null); // it resolved, so it exists: a socket, a swapped-in link, ...

        // Check what was really opened: a parent swapped for a symlink between the walk and the open shows up here.
        var opened = Native.PathOf(handle);
        // A second hard link is a name the deny-list cannot see (forge-token linked as notes.txt), or a file from
        // outside the roots linked in: a state file has exactly one name.
        var (isRegular, links) = Native.Stat(handle);
        if (opened is null || !opened.StartsWith(rootReal + "/", StringComparison.Ordinal) || !isRegular || links != 1 || IsDenied(Path.GetFileName(opened)))
        {
            handle.Dispose();
            return (StateFileVerdict.Refused, null);
        }
        return (StateFileVerdict.Allowed, new OpenedStateFile(handle, opened));
    }

    /// <summary>
    /// Maps a container-form or host-form path to its root dir (host form) and the components below it. Lexical
    /// only: <c>.</c> and empty components are dropped; any <c>..</c> refuses the whole path. Null when the path is
    /// in neither form or names an agent dir other than <c>state/</c> (the legacy bare <c>/state/...</c> included).
    /// </summary>
    private (string Root, string[] Below)? Split(string path)
    {
        if (path[0] != '/' || path.Contains('\\')) return null;
        foreach (var c in path)
            if (char.IsControl(c)) return null;

        var relative = Below(path, _dataDir) ?? (_dataDirReal is null ? null : Below(path, _dataDirReal)) ?? path[1..];
        var parts = relative.Split('/');
        if (parts.Contains("..")) return null;
        var rest = parts.Where(p => p.Length > 0 && p != ".").ToArray();
        if (rest is ["shared", ..])
            return (_dataDir + "/shared", rest[1..]);
        if (rest is ["agents", var agent, "state", ..] && AgentNames.IsWellFormed(agent))
            return (_dataDir + "/agents/" + agent + "/state", rest[3..]);
        return null;
    }

    private static string? Below(string path, string dir) =>
        path.Length > dir.Length + 1 && path.StartsWith(dir, StringComparison.Ordinal) && path[dir.Length] == '/' ? path[(dir.Length + 1)..] : null;

    /// <summary>
    /// The kernel resolves the path (every symlink, at every level); the result must lie below the root. When it
    /// cannot be resolved, the answer is "missing" only if no symlink was involved on the way to the gap; otherwise
    /// "refused", so a 403/404 difference never tells what exists outside the roots.
    /// </summary>
    /// <remarks>Both steps are O(depth): a body naming files hundreds of directories deep must not cost O(depth^2).</remarks>
    private static (StateFileVerdict, string?) Resolve(string rootLexical, string rootReal, string[] below, bool explain)
    {
        if (below.Length == 0) return (StateFileVerdict.Refused, null); // the root dir itself
        var lexical = rootLexical + "/" + string.Join('/', below);
        if (Native.CanonicalPath(lexical) is { } real)
            return real.StartsWith(rootReal + "/", StringComparison.Ordinal) ? (StateFileVerdict.Allowed, real) : (StateFileVerdict.Refused, null);
        if (!explain) return (StateFileVerdict.Refused, null);

        // Missing only when no symlink comes before the gap; a complete walk means resolvable lexically but not by
        // the kernel: not ours to explain.
        return Native.Walk(rootReal, below) == Native.WalkEnd.Missing ? (StateFileVerdict.Missing, null) : (StateFileVerdict.Refused, null);
    }

    public bool IsDeniedName(string fileName) => IsDenied(fileName);

    private bool IsDenied(string name)
    {
        // Lower-cased as well as compared ignoring case: ignoreCase alone upper-cases, and would let the Kelvin sign
        // in "server.\u212Aey" past "*.key".
        var lowered = name.ToLowerInvariant();
        foreach (var pattern in _denyPatterns)
            if (FileSystemName.MatchesSimpleExpression(pattern, lowered, ignoreCase: true)) return true;
        return false;
    }
}
