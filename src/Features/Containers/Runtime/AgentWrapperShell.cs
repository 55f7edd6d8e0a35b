namespace Hive.Features.Containers.Runtime;

/// <summary>The shell pieces the process and bubblewrap drivers' wrappers are made of: the functions they start with, a terminal's opening.</summary>
internal static class AgentWrapperShell
{
    /// <summary>
    /// Shell functions both drivers' wrappers start with: <c>hive_enter CGROUPS FILES</c> joins the agent's cgroup (when it
    /// has one: a directory per hierarchy, colon-separated, the membership one first; its caps are already written, and every
    /// process it makes is born inside) and resets the open-files limit the host raised for itself; and
    /// <see cref="AgentStage.Script"/>'s <c>hive_stage</c>.
    /// </summary>
    public const string Functions = AgentStage.Script + """

        hive_enter() {
          if [ -n "$1" ]; then
            old_ifs=$IFS IFS=:
            for dir in $1; do
              echo $$ > "$dir/cgroup.procs" || { echo "hive: could not join $dir" >&2; exit 125; }
            done
            IFS=$old_ifs
          fi
          ulimit -S -n "$2" 2>/dev/null || true
        }
        """;

    // $1 the pty slave. Opened before the new session, so it is only the controlling terminal once setsid -c makes it so.
    private const string TtyOpen = "exec 0<>\"$1\" 1>&0 2>&0 || exit 125; shift; exec \"$@\"";

    /// <summary>
    /// The start of a terminal's argv: its stdio becomes the pty, then <c>setsid -c</c> makes a session (the session's id
    /// is the pid the host started, which the host kills as a whole) with the pty as its controlling terminal. The driver
    /// goes on with its own argv, less its leading <c>setsid</c>. Ctrl-C, Ctrl-\ and Ctrl-Z get their default handling back
    /// first: a host started with them ignored (a background job, nohup, some service managers) hands that on to its
    /// children, and a shell cannot undo a signal ignored when it started.
    /// </summary>
    public static List<string> TtyPrefix(string tty) =>
        ["/usr/bin/env", "--default-signal=INT,QUIT,TSTP", "/bin/sh", "-c", TtyOpen, "hive-tty", tty, "/usr/bin/setsid", "-c"];
}
