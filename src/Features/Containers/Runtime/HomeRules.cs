using System.Text.RegularExpressions;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// An agent's HOME is its state dir, or a directory in it named by <c>env.HOME</c> (<c>"home"</c>): kept across restarts
/// like the rest of the state dir, and apart from the agent's own files (a program's login and settings live there).
/// </summary>
internal static partial class HomeRules
{
    /// <summary>Why <paramref name="home"/> cannot be an agent's HOME, or null.</summary>
    public static string? Problem(string? home) =>
        home is not null && OneName().IsMatch(home) && home is not ("." or "..") ? null
            : "HOME is a directory in the agent's state dir: give its name (one path segment, e.g. \"home\"), never an absolute path";

    /// <summary>The configured HOME's name in the state dir, or null for the state dir itself.</summary>
    public static string? Of(IReadOnlyDictionary<string, string> env) =>
        env.TryGetValue("HOME", out var home) && Problem(home) is null ? home : null;

    /// <summary>
    /// Makes the HOME directory when it is missing (0700, given to the agent's uid when it has one). An existing entry is
    /// left alone, whatever it is: the agent owns its state dir, and nothing here follows a link it may have planted.
    /// </summary>
    public static void Ensure(string stateDir, string home, uint? uid, uint gid)
    {
        var path = Path.Combine(stateDir, home);
        if (Path.Exists(path) || new FileInfo(path).LinkTarget is not null) return;
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (uid is { } owner) AgentUsers.Chown(path, owner, gid);
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex OneName();
}
