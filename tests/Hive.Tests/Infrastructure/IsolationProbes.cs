using System.Runtime.InteropServices;

namespace Hive.Tests.Infrastructure;

/// <summary>
/// What a sandbox must not reach, as shell probes: each a key and a command that succeeds only when it reaches what it
/// names (the database, the operator token, another agent's files, the host's processes, a mount, a trace, a new user
/// namespace, ...). A script runs them and prints <c>key:reached</c> or <c>key:denied</c> for each, then a few facts of
/// the process that ran them (<c>pids</c>, <c>cap-eff</c>, <c>seccomp</c>, <c>proc-sys</c>). Shared by the agents'
/// sandbox tests and the jobs'.
/// </summary>
internal static class IsolationProbes
{
    /// <summary>
    /// The probes against the hive on <paramref name="dataDir"/> hosted by process <paramref name="hostPid"/>, with
    /// agent <paramref name="other"/>'s state dir holding a secret (written here). <paramref name="withHostSearches"/>: also
    /// search the whole file system for the database and the token (slow outside a sandbox).
    /// </summary>
    public static (string Key, string Command)[] Probes(string dataDir, string other, int hostPid, bool withHostSearches)
    {
        var otherState = Path.Combine(dataDir, "agents", other, "state");
        File.WriteAllText(Path.Combine(otherState, "secret.txt"), "other's secret");
        var data = dataDir;
        var host = hostPid;
        // Reaching files by handle, mounting, tracing: each must fail (perl is Debian's perl-base: always there).
        var x64 = RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64;
        string Syscall(int x64Number, int genericNumber, string args) =>
            $"perl -e 'my @a = ({args}); exit(syscall({(x64 ? x64Number : genericNumber)}, @a) == -1 ? 1 : 0)'";
        return new (string Key, string Command)[]
        {
            ("db-host", $"cat '{data}/hive.db'"),
            ("db-any", "find / -xdev -name hive.db 2>/dev/null | grep -q ."),
            ("token", $"cat '{data}/operator-token'"),
            ("token-any", "find / -xdev -name operator-token 2>/dev/null | grep -q ."),
            ("other-host", $"cat '{otherState}/secret.txt'"),
            ("other-container", $"cat /agents/{other}/state/secret.txt"),
            ("other-listing", $"ls /agents/{other}"),
            ("other-socket", $"test -e /run/hive/{other}.sock || test -e '{data}/run/{other}.sock'"),
            ("host-process", $"cat /proc/{host}/cmdline"),
            ("host-process-environ", $"cat /proc/{host}/environ"),
            ("host-root-token", $"cat '/proc/{host}/root{data}/operator-token'"),
            ("stage", $"ls '{data}/stage'"),
            ("view-write", $"touch '{data}/agents/hive-was-here'"),
            ("work-tree", $"ls '{AppContext.BaseDirectory}'"),
            ("system-write", "touch /usr/hive-was-here-$HIVE_AGENT"),
            ("etc-shadow", "cat /etc/shadow"),
            ("proc-sys-write", "echo hive > /proc/sys/kernel/hostname"),
            ("mount", "mount -t tmpfs none /tmp"),
            ("mount-syscall", Syscall(165, 40, "\"none\", \"/tmp\", \"tmpfs\", 0, 0")),
            ("open-by-handle", OpenByHandle(x64)),
            ("ptrace-attach", Syscall(101, 117, "16, 1, 0, 0")),
            ("new-userns", "unshare --user true"),
        }.Where(p => withHostSearches || !p.Key.EndsWith("-any", StringComparison.Ordinal)).ToArray();
    }

    /// <summary>Probes that change the machine when they succeed: never run outside a sandbox.</summary>
    public static readonly HashSet<string> Writing = ["system-write", "view-write", "proc-sys-write", "mount", "mount-syscall", "ptrace-attach", "new-userns"];

    /// <summary>
    /// The script: every probe, then the facts, then <paramref name="more"/> (lines of the caller's own), then <c>done</c>;
    /// its output goes to <paramref name="outputFile"/> (in its working directory), or to stdout when null. The probes'
    /// own output and every error go nowhere.
    /// </summary>
    public static string Script(IEnumerable<(string Key, string Command)> probes, string? outputFile, string more = "") =>
        (outputFile is null ? "exec 2>/dev/null\n" : $"exec > {outputFile} 2>/dev/null\n")
        + string.Concat(probes.Select(p => $"if {p.Command} >/dev/null 2>&1; then echo '{p.Key}:reached'; else echo '{p.Key}:denied'; fi\n"))
        + "echo \"pids:$(ls /proc | grep -c '^[0-9]')\"\n"
        + "echo \"cap-eff:$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)\"\n"
        + "echo \"seccomp:$(sed -n 's/^Seccomp:[[:space:]]*//p' /proc/self/status)\"\n"
        + "echo \"proc-sys:$(awk '$2 == \"/proc/sys\" { split($4, o, \",\"); print o[1] }' /proc/self/mounts)\"\n"
        + more
        + "echo done\n";

    /// <summary>The script's <c>key:value</c> lines.</summary>
    public static Dictionary<string, string> Parse(IEnumerable<string> lines) =>
        lines.Where(l => l.Contains(':')).Select(l => l.Split(':', 2)).ToDictionary(kv => kv[0], kv => kv[1]);

    /// <summary>The hostile pass's escape: a handle for <c>/</c>, then a file opened by it (needs CAP_DAC_READ_SEARCH; refused by the filter).</summary>
    private static string OpenByHandle(bool x64) =>
        "perl -e 'my $p = \"/\"; my $h = pack(\"LL\", 128, 0) . \"\\0\" x 128; my $m = \"\\0\" x 4; "
        + $"syscall({(x64 ? 303 : 264)}, -100, $p, $h, $m, 0) == 0 or exit 2; open(my $d, \"<\", \"/\") or exit 3; "
        + $"exit(syscall({(x64 ? 304 : 265)}, fileno($d), $h, 0) >= 0 ? 0 : 1)'";
}
