namespace Hive.Features.Containers;

/// <summary>The <c>Hive:Containers</c> configuration section.</summary>
public sealed class ContainersOptions
{
    /// <summary><c>auto</c> (bubblewrap where <c>bwrap</c> works, else process), <c>process</c>, <c>bubblewrap</c> or <c>nixos-container</c>.</summary>
    public string Driver { get; set; } = "auto";

    /// <summary>Between SIGTERM to an agent's process group and SIGKILL.</summary>
    public double StopGraceSeconds { get; set; } = 5;

    /// <summary>Restarts by policy allowed within <see cref="RestartWindowMinutes"/>; the next crash leaves the agent <c>failed</c>.</summary>
    public int MaxRestarts { get; set; } = 5;

    public double RestartWindowMinutes { get; set; } = 10;

    /// <summary>The first restart's delay; each crash in the window doubles it, up to <see cref="MaxRestartBackoffSeconds"/>.</summary>
    public double RestartBackoffSeconds { get; set; } = 1;

    public double MaxRestartBackoffSeconds { get; set; } = 60;

    /// <summary>An agent's output log is rotated (one old file kept) when it grows past this.</summary>
    public long LogBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>The command of an agent the manager asks for without one (<c>request_spawn</c>); none by default.</summary>
    public List<string> DefaultCommand { get; set; } = [];

    public TimeSpan StopGrace => TimeSpan.FromSeconds(StopGraceSeconds);

    /// <summary>
    /// A root host runs each agent as a uid of its own, this plus the agent's registry slot, with this as the agents'
    /// common gid: numbers no account on the machine should use (the default is far above any distribution's ranges).
    /// </summary>
    public long AgentUidBase { get; set; } = 1_600_000_000;

    /// <summary>
    /// The uid and gid a job of the hive (<see cref="Jobs.RunSandboxedJob"/>, a merge queue's check) runs as outside its
    /// sandbox on a root host: one of its own, never root, never an agent's, not in the agents' group. Null (the default):
    /// <see cref="AgentUidBase"/> - 1. A host that is not root runs jobs as its own user inside a user namespace (the kernel
    /// gives it no other uid), as it runs agents.
    /// </summary>
    public long? JobUid { get; set; }

    /// <summary><see cref="JobUid"/>, or its default.</summary>
    public long JobUidOrDefault => JobUid ?? AgentUidBase - 1;

    /// <summary>The size of a job's <c>/work</c>, a tmpfs holding its tree and what it writes there (its <c>/tmp</c> has as much).</summary>
    public long JobWorkBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary><c>Hive:Containers:Limits</c>: each agent's caps unless its configuration sets its own (process and bubblewrap drivers).</summary>
    public Runtime.LimitsOptions Limits { get; set; } = new();

    /// <summary>
    /// Where the cgroup hierarchies are mounted (v1: one directory per controller under it; v2: the unified one itself).
    /// Only a test points it elsewhere, to see the host run with limits off.
    /// </summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>How often one loop reads every running agent's cgroup counters (memory, CPU, pids); fractions allowed.</summary>
    public double UsageSeconds { get; set; } = 5;

    /// <summary>
    /// Tombstones destroyed longer ago than this many days are purged by a sweep, unless their state dir holds git commits
    /// not pushed anywhere (<see cref="TombstoneGitWork"/>). Null or 0: off (the default), tombstones stay until the
    /// operator deletes them.
    /// </summary>
    public int? TombstoneRetainDays { get; set; }

    /// <summary>How often the retention sweep runs (also once at start-up); fractions allowed.</summary>
    public double TombstoneSweepMinutes { get; set; } = 60;

    /// <summary>Retention is on: a positive <see cref="TombstoneRetainDays"/>.</summary>
    public bool RetainsTombstones => TombstoneRetainDays is > 0;

    /// <summary><c>Hive:Containers:Process</c>: the process driver.</summary>
    public ProcessDriverOptions Process { get; set; } = new();

    /// <summary><c>Hive:Containers:NixosContainer</c>: the nixos-container driver.</summary>
    public NixosContainerOptions NixosContainer { get; set; } = new();
}

/// <summary>The <c>Hive:Containers:Process</c> section.</summary>
public sealed class ProcessDriverOptions
{
    /// <summary>
    /// Lets a root host run process-driver agents as root where it cannot give them their own uid (no mount namespaces):
    /// off by default, when such a host refuses to run them at all.
    /// </summary>
    public bool AllowRoot { get; set; }
}

/// <summary>The <c>Hive:Containers:NixosContainer</c> section.</summary>
public sealed class NixosContainerOptions
{
    /// <summary>The <c>nixos-container</c> program: a name looked up on PATH, or an absolute path.</summary>
    public string Path { get; set; } = "nixos-container";

    /// <summary>How often a running container's <c>status</c> is asked (nothing tells the host when it ends); fractions allowed.</summary>
    public double PollSeconds { get; set; } = 5;

    /// <summary>Each nixos-container command is killed (and fails) after this; a <c>create</c> may build a system.</summary>
    public double TimeoutSeconds { get; set; } = 300;

    public TimeSpan PollPeriod => TimeSpan.FromSeconds(PollSeconds);
}

/// <summary>The <c>Hive:Approvals</c> configuration section.</summary>
public sealed class ApprovalsOptions
{
    /// <summary>A pending approval older than this is denied as "timed out" and its requester told (0: never, the default).</summary>
    public double TimeoutMinutes { get; set; }

    /// <summary>Pending approvals one requester may have; the next request is refused with <c>too_many</c> (429).</summary>
    public int MaxPendingPerRequester { get; set; } = 100;
}
