using Hive.Shared;
using Hive.Shared.Files;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// What an agent may be given as a read-only mount, judged on the path the kernel would bind — every symlink and
/// <c>..</c> resolved — never on the text asked for. Checked when a configuration is made (the API, the dashboard, a
/// manager's proposal) and again each time the agent starts (a meta file edited by hand, a link re-pointed since), and the
/// resolved path is what is bound. Each refusal names its rule.
/// </summary>
internal static class MountRules
{
    private static readonly string[] Kernel = ["/proc", "/sys", "/dev"];

    /// <summary>The path to bind for <paramref name="mount"/>, or why it may not be: (resolved, null) or (null, problem).</summary>
    public static (string? Resolved, string? Problem) Check(string? mount, HivePaths paths)
    {
        if (mount is null || !Path.IsPathRooted(mount) || mount.Contains('\0') || mount.Length > 4096)
            return (null, "mounts are absolute host paths");
        var full = Path.GetFullPath(mount).TrimEnd('/');
        if (full.Length == 0 || full != mount.TrimEnd('/')) return (null, $"mount {mount} must be a canonical path (no .., no //, not /)");
        if (RealPaths.Of(full) is not { } resolved) return (null, $"mount {mount} does not exist");
        var shown = resolved == full ? mount : $"{mount} (which is {resolved})";
        if (resolved == "/") return (null, $"mount {shown} would show the whole root filesystem");
        foreach (var root in Kernel)
            if (RealPaths.Within(resolved, root)) return (null, $"mount {shown} is the kernel's ({root}): its files reach the host's processes and devices");
        if (RealPaths.Within(resolved, "/run")) return (null, $"mount {shown} is under /run: its sockets reach the host's daemons");
        if (RealPaths.Overlaps(resolved, paths.DataDir)) return (null, $"mount {shown} would show the hive's data dir to the agent");
        if (RealPaths.Overlaps(resolved, AppContext.BaseDirectory)) return (null, $"mount {shown} would show the host's own install dir to the agent");
        return (resolved, null);
    }

    /// <summary>The first problem among <paramref name="mounts"/>, or null.</summary>
    public static string? FirstProblem(IEnumerable<string> mounts, HivePaths paths) =>
        mounts.Select(m => Check(m, paths).Problem).FirstOrDefault(p => p is not null);
}
