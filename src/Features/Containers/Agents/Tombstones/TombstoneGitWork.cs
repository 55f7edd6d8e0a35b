using Hive.Shared.Processes;

namespace Hive.Features.Containers;

/// <summary>
/// Whether a tombstone's state dir holds git work not pushed anywhere: a commit reachable from a repository's local refs
/// (branches, tags, the stash, a detached HEAD) and from none of its remote-tracking refs — a repository with no remote at
/// all counts when it has any commit. Only commits are checked: uncommitted changes to tracked files would need
/// <c>status</c>/<c>diff-files</c>, which run the repository's own filters and fsmonitor, i.e. the agent's code.
/// <para>
/// The dir was written by an untrusted agent, so nothing in it is followed or run: the walk never follows a symlink and
/// is bounded (depth, entries, repositories); git runs only <c>rev-list</c> (plumbing: no index, no worktree, no hooks,
/// no pager) through the host's one child-process runner (a clean environment), with no system or global config, every
/// transport refused (a planted partial clone's lazy fetch cannot reach <c>ext::</c>), hooks and fsmonitor off, and a
/// timeout. Anything it cannot judge — a bound hit, an error, a timeout — is a reason to keep the tombstone.
/// </para>
/// </summary>
internal sealed class TombstoneGitWork
{
    public const string Unpushed = "unpushed work";
    public const string CouldNotCheck = "could not check git work";
    public const int MaxDepth = 8;
    public const int MaxEntries = 200_000;
    public const int MaxRepositories = 32;
    public static readonly TimeSpan GitTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The program run; only a test points it elsewhere.</summary>
    public string Git { get; init; } = "git";

    /// <summary>Null when nothing under <paramref name="dir"/> needs keeping, else why it must be kept (one line, at most 300 characters).</summary>
    public async Task<string?> ReasonToKeepAsync(string dir, CancellationToken cancellationToken) =>
        await FindReasonAsync(dir, cancellationToken) is { } reason ? OneLine(reason, 300) : null;

    private async Task<string?> FindReasonAsync(string dir, CancellationToken cancellationToken)
    {
        var info = new DirectoryInfo(dir);
        if (info.LinkTarget is not null) return $"{CouldNotCheck}: the dir is a symlink";
        if (!info.Exists) return null;
        var (repositories, problem) = FindRepositories(dir);
        if (problem is not null) return $"{CouldNotCheck}: {problem}";
        foreach (var gitDir in repositories)
        {
            var where = Path.GetRelativePath(dir, gitDir);
            if (LinkInside(gitDir) is { } linked) return $"{CouldNotCheck}: {where}: {linked} is a symlink";
            ChildResult result;
            try
            {
                var command = RevList(gitDir);
                result = await ChildProcess.RunAsync(command, cancellationToken);
            }
            catch (ChildProcessException e)
            {
                return $"{CouldNotCheck}: {e.Message}";
            }
            if (result.TimedOut) return $"{CouldNotCheck}: git timed out in {where}";
            // Never git's own words: they may quote a file the agent pointed git at.
            if (result.ExitCode != 0) return $"{CouldNotCheck}: git failed in {where} (exit code {result.ExitCode})";
            if (result.Stdout.Trim().Length > 0) return $"{Unpushed} in {where}";
        }
        return null;
    }

    /// <summary>
    /// <c>git rev-list --all --not --remotes --max-count=1</c>: one local commit no remote-tracking ref reaches, if any.
    /// Command-line <c>-c</c> wins over the repository's config; <c>GIT_ALLOW_PROTOCOL</c> wins over every
    /// <c>protocol.*.allow</c> the repository may set; <c>safe.directory</c> because the repository is the agent's uid's.
    /// </summary>
    private ChildCommand RevList(string gitDir) => new(Git,
    [
        "--no-pager", $"--git-dir={gitDir}",
        "-c", "safe.directory=*", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "protocol.allow=never",
        "-c", "core.sshCommand=false",
        "rev-list", "--all", "--not", "--remotes", "--max-count=1", "--",
    ])
    {
        Environment = new Dictionary<string, string>
        {
            ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_CONFIG_GLOBAL"] = "/dev/null",
            ["GIT_TERMINAL_PROMPT"] = "0",
            ["GIT_ALLOW_PROTOCOL"] = "none", // no such protocol: every transport refused
            ["GIT_NO_REPLACE_OBJECTS"] = "1",
            ["GIT_OPTIONAL_LOCKS"] = "0",
            ["GIT_ATTR_NOSYSTEM"] = "1",
        },
        WorkingDirectory = "/",
        Timeout = GitTimeout,
        CaptureBytes = 64 * 1024,
    };

    /// <summary>
    /// Every git dir under <paramref name="root"/>: a directory holding a regular <c>HEAD</c> file and <c>objects/</c> and
    /// <c>refs/</c> directories — a bare repository or a worktree's <c>.git</c> alike. Within one only <c>modules/</c>
    /// (submodules' git dirs) is searched further. A <c>.git</c> file or link points elsewhere: what it points to is either
    /// found by the walk itself or not deleted by a purge.
    /// </summary>
    internal static (IReadOnlyList<string> Repositories, string? Problem) FindRepositories(string root)
    {
        var found = new List<string>();
        var pending = new Stack<(string Dir, int Depth)>();
        pending.Push((root, 0));
        var entries = 0;
        var options = new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = false, RecurseSubdirectories = false };
        while (pending.TryPop(out var next))
        {
            var children = new List<FileSystemInfo>();
            try
            {
                foreach (var entry in new DirectoryInfo(next.Dir).EnumerateFileSystemInfos("*", options))
                {
                    if (++entries > MaxEntries) return (found, $"more than {MaxEntries} entries");
                    children.Add(entry);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (found, $"{Path.GetRelativePath(root, next.Dir)} could not be read ({e.GetType().Name})");
            }
            var dirs = children.Where(c => c is DirectoryInfo && c.LinkTarget is null).ToList();
            var isGitDir = children.Any(c => c is FileInfo { Name: "HEAD", LinkTarget: null })
                           && dirs.Any(d => d.Name == "objects") && dirs.Any(d => d.Name == "refs");
            if (isGitDir)
            {
                if (found.Count >= MaxRepositories) return (found, $"more than {MaxRepositories} repositories");
                found.Add(next.Dir);
                dirs = dirs.Where(d => d.Name == "modules").ToList();
            }
            foreach (var sub in dirs)
            {
                if (next.Depth + 1 > MaxDepth) return (found, $"directories deeper than {MaxDepth} levels");
                pending.Push((sub.FullName, next.Depth + 1));
            }
        }
        return (found, null);
    }

    /// <summary>
    /// The first symlink anywhere inside a git dir, if any (bounded like the walk). git runs as root and follows links, so
    /// one planted there (say <c>packed-refs</c> to a host secret) would make it read a host file: a git dir holding a link
    /// is not checked (git itself never makes one).
    /// </summary>
    private static string? LinkInside(string gitDir)
    {
        var options = new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = false, RecurseSubdirectories = true, MaxRecursionDepth = MaxDepth };
        var entries = 0;
        try
        {
            foreach (var entry in new DirectoryInfo(gitDir).EnumerateFileSystemInfos("*", options))
            {
                if (entry.LinkTarget is not null) return Path.GetRelativePath(gitDir, entry.FullName);
                if (++entries > MaxEntries) return "(too many entries to check)";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"(unreadable: {e.GetType().Name})";
        }
        return null;
    }

    /// <summary>Names in the dir are the agent's: no control character of theirs reaches a log line or the page.</summary>
    private static string OneLine(string text, int max)
    {
        var clean = new string(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length > max ? clean[..max] + "…" : clean;
    }
}
