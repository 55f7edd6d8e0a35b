using System.Runtime.InteropServices;
using Hive.Shared;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// What an agent may be given as a read-only mount, judged on the path the kernel would bind — every symlink and
/// <c>..</c> resolved — never on the text asked for. Checked when a configuration is made (the API, the dashboard, a
/// manager's proposal) and again each time the agent starts (a meta file edited by hand, a link re-pointed since), and the
/// resolved path is what is bound. Each refusal names its rule.
/// </summary>
internal static partial class MountRules
{
    private static readonly string[] Kernel = ["/proc", "/sys", "/dev"];

    /// <summary>The path to bind for <paramref name="mount"/>, or why it may not be: (resolved, null) or (null, problem).</summary>
    public static (string? Resolved, string? Problem) Check(string? mount, HivePaths paths)
    {
        if (mount is null || !Path.IsPathRooted(mount) || mount.Contains('\0') || mount.Length > 4096)
            return (null, "mounts are absolute host paths");
        var full = Path.GetFullPath(mount).TrimEnd('/');
        if (full.Length == 0 || full != mount.TrimEnd('/')) return (null, $"mount {mount} must be a canonical path (no .., no //, not /)");
        if (RealPath(full) is not { } resolved) return (null, $"mount {mount} does not exist");
        var shown = resolved == full ? mount : $"{mount} (which is {resolved})";
        if (resolved == "/") return (null, $"mount {shown} would show the whole root filesystem");
        foreach (var root in Kernel)
            if (Within(resolved, root)) return (null, $"mount {shown} is the kernel's ({root}): its files reach the host's processes and devices");
        if (Within(resolved, "/run")) return (null, $"mount {shown} is under /run: its sockets reach the host's daemons");
        foreach (var dataDir in Variants(paths.DataDir))
            if (Within(resolved, dataDir) || Within(dataDir, resolved)) return (null, $"mount {shown} would show the hive's data dir to the agent");
        foreach (var install in Variants(AppContext.BaseDirectory))
            if (Within(resolved, install) || Within(install, resolved)) return (null, $"mount {shown} would show the host's own install dir to the agent");
        return (resolved, null);
    }

    /// <summary>The first problem among <paramref name="mounts"/>, or null.</summary>
    public static string? FirstProblem(IEnumerable<string> mounts, HivePaths paths) =>
        mounts.Select(m => Check(m, paths).Problem).FirstOrDefault(p => p is not null);

    private static bool Within(string path, string root) =>
        path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    /// <summary>A directory as written and as resolved (a data dir reached through a link is the same data dir).</summary>
    private static IEnumerable<string> Variants(string dir)
    {
        var written = Path.GetFullPath(dir).TrimEnd('/');
        yield return written;
        if (RealPath(written) is { } real && real != written) yield return real;
    }

    /// <summary>realpath(3): every link and <c>..</c> resolved; null when the path does not exist (or cannot be walked).</summary>
    private static string? RealPath(string path)
    {
        var resolved = RealPathNative(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
