using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Files;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// The view of the data dir an agent of a root host runs in (<see cref="AgentUsers"/>): in the run's private mount
/// namespace, the cover (the data dir, or the highest directory above it that others may not enter) is covered by the
/// agent's <em>view</em>, a skeleton the host made under <c>stage/NAME.view</c> holding only the path down to the data dir and
/// the agent's own entries, each with its real directory (or socket) bound onto it. Everything else of the data dir (the
/// database, the operator token, other agents) is not there.
/// <para>
/// One <c>mount -a</c> of the agent's table does it all, the only process the stage runs (a fleet of 200 agents starts
/// faster with each process spared: every exec is a few milliseconds of CPU). The view's directories are root's, 0755, and
/// empty, so the agent can pass them and write nothing there; the view is only ever added to, never emptied, because a
/// directory removed while another run's namespace has something bound on it would take that bind away from it there too.
/// </para>
/// </summary>
internal sealed partial class AgentStage(HivePaths paths)
{
    /// <summary>
    /// A shell function for a root shell in a fresh mount namespace: <c>hive_stage DATA COVER NAME TABLE</c> opens the real data
    /// dir (fd 3), the data dir's image in the agent's view (fd 5), the view (fd 6) and the cover (fd 7), then mounts the
    /// agent's table (<see cref="Table"/>, the file <c>stage/TABLE</c>): its paths bound onto the view, then the view over the
    /// cover. No table line holds a path (which might need fstab's escapes): each goes through a descriptor. fd 4 is
    /// bubblewrap's seccomp program.
    /// </summary>
    public const string Script = """
        hive_stage() {
          exec 3<"$1" 5<"$1/stage/$3.view${1#"$2"}" 6<"$1/stage/$3.view" 7<"$2" || exit 125
          mount --no-canonicalize -a -T "/proc/self/fd/3/stage/$4" || exit 125
          exec 3<&- 5<&- 6<&- 7<&-
        }
        """;

    /// <summary>
    /// The binds <c>hive_stage</c> makes: each of the agent's paths from the real data dir onto its place in the view, then
    /// the view, with them, over the cover (a recursive bind, so the binds on it come along).
    /// </summary>
    internal static string Table(string agent, IEnumerable<string> sockets) => string.Concat(
        EntriesOf(agent, sockets).Select(entry => $"/proc/self/fd/3/{entry.Path} /proc/self/fd/5/{entry.Path} none bind 0 0\n")
            .Append("/proc/self/fd/6 /proc/self/fd/7 none rbind 0 0\n"));

    /// <summary>
    /// The directory the stage covers: the highest one from the data dir up that others may not enter (the agent's uid
    /// could not walk through it to its own paths). The data dir itself at least, which is 0700.
    /// </summary>
    private string Cover()
    {
        var cover = paths.DataDir;
        for (var dir = Path.GetDirectoryName(paths.DataDir); dir is not null && dir != "/"; dir = Path.GetDirectoryName(dir))
            if (!File.GetUnixFileMode(dir).HasFlag(UnixFileMode.OtherExecute)) cover = dir;
        return cover;
    }

    /// <summary>What a staged run's <c>hive_stage</c> is given: the directory its view covers, and its table's file name in <c>stage/</c>.</summary>
    public sealed record Staging(string Cover, string Table)
    {
        /// <summary>An unstaged run's (the host's own user): nothing to cover.</summary>
        public static readonly Staging None = new("", "");
    }

    /// <summary>
    /// Makes the agent's view (<c>stage/NAME.view</c>) and the table for this run (<c>stage/NAME.HASH.fstab</c>, 0600, named by
    /// its content) as they should be, when this host has not made them so yet: both depend on the name, the cover and the
    /// sockets alone, so later starts find them ready. A table is never rewritten in place: an agent's start and its
    /// terminal's, each with its own sockets, each read a table of their own. <paramref name="sockets"/>: the host paths of
    /// the agent's gateway's, egress proxy's and forge door's sockets, those it has; each bound when it lies in the data dir
    /// (elsewhere the agent's user reaches it as it is).
    /// </summary>
    public Staging Prepare(string agent, IReadOnlyList<string> sockets)
    {
        var cover = Cover();
        var inDataDir = sockets.Select(InDataDir).OfType<string>().ToList();
        var table = Table(agent, inDataDir);
        var staging = new Staging(cover, TableFileName(agent, table));
        var stage = StageDir(paths);
        var tableFile = Path.Combine(stage, staging.Table);
        // The file is looked at too: a purge (Forget) removes what this host made for a name it may be given again.
        if (_prepared.ContainsKey(staging) && File.Exists(tableFile)) return staging;
        HivePaths.EnsurePrivateDirectory(stage);
        var view = Path.Combine(stage, agent + ".view");
        var image = Path.Combine(view, Path.GetRelativePath(cover, paths.DataDir));
        MakeViewDirectory(view, image);
        foreach (var (path, isFile) in EntriesOf(agent, inDataDir))
        {
            var target = Path.Combine(image, path);
            MakeViewDirectory(view, isFile ? Path.GetDirectoryName(target)! : target);
            // Created only when absent, never put in place of one that is there: replaced, the file a running agent's namespace
            // has its socket bound on would lose that bind there (another start of the same agent may make it meanwhile).
            if (isFile && !File.Exists(target)) PrivateFile.TryCreate(target, [], Durability.None);
        }
        // Replaced whole (the file writer renames into place) and with the same bytes: a run reading it meanwhile reads it whole.
        PrivateFile.Write(tableFile, System.Text.Encoding.ASCII.GetBytes(table), Durability.None);
        _prepared[staging] = true;
        return staging;
    }

    /// <summary>
    /// Removes what the stage made for <paramref name="agent"/> (its view and its tables), once it has no run left: its
    /// tombstone is purged. The view is a tree of root's directories and empty files; nothing in it is followed.
    /// </summary>
    public static void Forget(HivePaths paths, string agent)
    {
        var stage = StageDir(paths);
        if (!Directory.Exists(stage)) return;
        var name = AgentName.Checked(agent);
        // Tables first: a table there means its view is whole (Prepare makes the view first), so a start never finds one without the other.
        foreach (var table in Directory.EnumerateFiles(stage, name + ".*").Where(file => TableSuffix().IsMatch(Path.GetFileName(file)[name.Length..])))
            File.Delete(table);
        var view = new DirectoryInfo(Path.Combine(stage, name + ".view"));
        if (view.Exists && view.LinkTarget is null) DirectoryTree.Delete(view.FullName);
    }

    private static string StageDir(HivePaths paths) => Path.Combine(paths.DataDir, "stage");

    /// <summary>A table's file: the agent's name and the first 16 hex digits of the table's SHA-256.</summary>
    private static string TableFileName(string agent, string table) =>
        $"{AgentName.Checked(agent)}.{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(table)))[..16]}.fstab";

    /// <summary>What follows the name in a table's file name (<see cref="TableFileName"/>), or in one from before tables were named by content.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^(\.[0-9a-f]{16})?\.fstab\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex TableSuffix();

    private const UnixFileMode ViewDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                               UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>The agent's entries, relative to the data dir: its directories, then its socket and <paramref name="sockets"/> (files).</summary>
    private static IEnumerable<(string Path, bool IsFile)> EntriesOf(string agent, IEnumerable<string> sockets) =>
        new[] { $"agents/{agent}/state", $"agents/{agent}/work", "work/repos", "work/store", "shared", "tools" }.Select(dir => (dir, false))
            .Concat(new[] { $"run/{agent}.sock" }.Concat(sockets).Select(file => (file, true)));

    /// <summary>Each directory from the view down to <paramref name="dir"/>, made when missing, root's and 0755 whatever the host's umask.</summary>
    private static void MakeViewDirectory(string view, string dir)
    {
        var path = view;
        foreach (var part in Path.GetRelativePath(view, dir).Split('/').Prepend("."))
        {
            path = part == "." ? path : Path.Combine(path, part);
            if (Directory.Exists(path) && File.GetUnixFileMode(path) == ViewDirectory) continue;
            Directory.CreateDirectory(path);
            File.SetUnixFileMode(path, ViewDirectory);
        }
    }

    /// <summary>The path of <paramref name="path"/> inside the data dir, for a table's line; null when it lies elsewhere.</summary>
    private string? InDataDir(string path)
    {
        var relative = Path.GetRelativePath(paths.DataDir, Path.GetFullPath(path));
        if (relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative)) return null;
        // A table line is split on blanks, and fstab would need escapes for them: a name the hive gives never has any.
        if (!StageablePath().IsMatch(relative)) throw new DriverException($"the socket {path} cannot be shown to the agent: its name must be plain");
        return relative;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9._/-]+$")]
    private static partial System.Text.RegularExpressions.Regex StageablePath();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Staging, bool> _prepared = new();
}
