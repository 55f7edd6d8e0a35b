using System.Runtime.InteropServices;

namespace Hive.Shared.Files;

/// <summary>
/// Paths as the kernel resolves them (every link and <c>..</c> followed), for rules about where a path really is: a
/// mount an agent is given, a repository the hive pushes to. Judged on the resolved path, never on the text asked for.
/// </summary>
public static partial class RealPaths
{
    /// <summary>realpath(3): every link and <c>..</c> resolved; null when the path does not exist (or cannot be walked).</summary>
    public static string? Of(string path)
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

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or under it (both as given: resolve them first).</summary>
    public static bool Within(string path, string root) =>
        path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    /// <summary>A directory as written and as resolved (a data dir reached through a link is the same data dir).</summary>
    public static IEnumerable<string> Variants(string dir)
    {
        var written = Path.GetFullPath(dir).TrimEnd('/');
        yield return written;
        if (Of(written) is { } real && real != written) yield return real;
    }

    /// <summary>Whether the resolved <paramref name="resolved"/> and the directory <paramref name="dir"/> (either way it is written) overlap: one inside the other.</summary>
    public static bool Overlaps(string resolved, string dir) =>
        Variants(dir).Any(d => Within(resolved, d) || Within(d, resolved));

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
