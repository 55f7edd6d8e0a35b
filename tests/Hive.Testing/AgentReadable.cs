using System.Collections.Concurrent;

namespace Hive.Testing;

/// <summary>
/// A built program (its <c>bin/</c>) where an agent's process can run it: a root host runs agents as users of their own, so
/// a checkout under a directory others may not enter (<c>/root</c>, a <c>mktemp -d</c>) is copied once to a readable temp
/// dir, removed when the test run ends (or by the next run, when the test host was killed first); so is one under
/// <c>/work</c>, where a sandbox shows the agent's ticket workspace.
/// </summary>
public static class AgentReadable
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> Copies = new(StringComparer.Ordinal);

    /// <summary><paramref name="built"/> (<c>…/bin/&lt;config&gt;/&lt;tfm&gt;/x.dll</c>, or a program as deep in <c>bin/</c>), or its readable copy.</summary>
    public static string Of(string built) => Copies.GetOrAdd(built, b => new Lazy<string>(() => Copy(b))).Value;

    private static string Copy(string built)
    {
        // A sandbox shows the agent's workspace at /work, so a build under /work cannot be shown there either: copied too.
        var underWork = built.StartsWith("/work/", StringComparison.Ordinal);
        if ((!Environment.IsPrivilegedProcess || OpenToOthers(built)) && !underWork) return built;
        var bin = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(built)))!;
        RemoveLeftovers();
        var copy = Directory.CreateTempSubdirectory($"{Prefix}{Environment.ProcessId}-");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => copy.Delete(recursive: true);
        const UnixFileMode dirMode = (UnixFileMode)0b111_101_101, fileMode = (UnixFileMode)0b110_100_100, programMode = dirMode;
        File.SetUnixFileMode(copy.FullName, dirMode);
        var target = Path.Combine(copy.FullName, "bin");
        foreach (var dir in Directory.EnumerateDirectories(bin, "*", SearchOption.AllDirectories).Prepend(bin))
            File.SetUnixFileMode(Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(bin, dir))).FullName, dirMode);
        foreach (var file in Directory.EnumerateFiles(bin, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(bin, file));
            File.Copy(file, to);
            // A program (an apphost, an ahead-of-time build) stays one.
            File.SetUnixFileMode(to, File.GetUnixFileMode(file).HasFlag(UnixFileMode.UserExecute) ? programMode : fileMode);
        }
        return Path.Combine(target, Path.GetRelativePath(bin, built));
    }

    private const string Prefix = "hive-agent-readable-";

    /// <summary>
    /// The copies of test runs that ended without removing theirs (a test host killed at the end of a run never sees its
    /// exit): each names its run's pid, and one whose process is gone is removed. Another run's live copy is left alone.
    /// </summary>
    private static void RemoveLeftovers()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            var pid = Path.GetFileName(dir)[Prefix.Length..].Split('-')[0];
            if (!int.TryParse(pid, out var id) || id == Environment.ProcessId || Directory.Exists($"/proc/{id}")) continue;
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another run removing it at the same moment, or not ours to remove: left.
            }
        }
    }

    private static bool OpenToOthers(string file)
    {
        for (var dir = Path.GetDirectoryName(file); dir is not null; dir = Path.GetDirectoryName(dir))
            if (!File.GetUnixFileMode(dir).HasFlag(UnixFileMode.OtherExecute)) return false;
        return File.GetUnixFileMode(file).HasFlag(UnixFileMode.OtherRead);
    }
}
