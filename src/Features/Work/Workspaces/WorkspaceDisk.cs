using Hive.Shared;
using Hive.Shared.Errors;
using Hive.Shared.Processes;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// What a workspace does to files: measure, empty, and hand over to an agent's uid or take back (root host). Every walk is
/// physical (links changed or removed themselves, never followed): an agent planted whatever its worktree holds.
/// </summary>
internal static class WorkspaceDisk
{
    /// <summary>
    /// Removes everything inside <paramref name="dir"/>, keeping the dir itself (a running sandbox binds it at <c>/work</c>).
    /// <c>rm -rf --one-file-system</c> per entry: it never follows a link, and an agent still writing in there is outrun by
    /// a few rounds.
    /// </summary>
    public static async Task EmptyAsync(string dir, CancellationToken ct)
    {
        if (!Directory.Exists(dir)) return;
        for (var round = 0; ; round++)
        {
            var entries = Directory.EnumerateFileSystemEntries(dir).ToArray();
            if (entries.Length == 0) return;
            var rm = await ChildProcess.RunAsync(new ChildCommand("/bin/rm", ["-rf", "--one-file-system", "--", .. entries])
            {
                Timeout = TimeSpan.FromMinutes(10),
            }, ct);
            if (rm.ExitCode == 0 && !Directory.EnumerateFileSystemEntries(dir).Any()) return;
            if (round == 4) throw new ConflictException($"{dir} could not be emptied: {FirstLine(rm.Stderr)}");
        }
    }

    /// <summary>The tree becomes <paramref name="uid"/>:<paramref name="gid"/>'s (GNU chown's physical walk: <c>-R -P -h</c>).</summary>
    public static Task ChownTreeAsync(string path, uint uid, uint gid, CancellationToken ct) =>
        RunAsync("/bin/chown", ["-R", "-P", "-h", $"{uid}:{gid}", "--", path], ct);

    /// <summary>The dir itself only (<c>chown -h</c>: a link is changed itself), then its mode.</summary>
    public static async Task ChownAsync(string path, uint uid, uint gid, UnixFileMode mode, CancellationToken ct)
    {
        await RunAsync("/bin/chown", ["-h", $"{uid}:{gid}", "--", path], ct);
        File.SetUnixFileMode(path, mode);
    }

    public static async Task RunAsync(string program, IReadOnlyList<string> args, CancellationToken ct)
    {
        var run = await ChildProcess.RunAsync(new ChildCommand(program, args) { Timeout = TimeSpan.FromMinutes(10) }, ct);
        if (run.ExitCode != 0 || run.TimedOut)
            throw new ConflictException($"{Path.GetFileName(program)} {args[^1]} failed: {(run.TimedOut ? "it did not finish within 10 minutes" : FirstLine(run.Stderr))}");
    }

    /// <summary>A dir the host fills while everyone may look in (an agent's work dir, taken back while it is emptied or filled).</summary>
    public const UnixFileMode OpenDir = HivePaths.PrivateDir | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>A dir of the clones or the store: the host's, which the agents' group may read.</summary>
    public const UnixFileMode GroupDir = HivePaths.PrivateDir | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    public static string FirstLine(string text)
    {
        var line = text.Trim().Split('\n')[0].Trim();
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}
