namespace Hive.Features.Containers;

/// <summary>The <c>Hive:Containers</c> configuration section.</summary>
public sealed class ContainersOptions
{
    /// <summary><c>auto</c> (bubblewrap where <c>bwrap</c> works, else process), <c>process</c> or <c>bubblewrap</c>.</summary>
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
}

/// <summary>The <c>Hive:Approvals</c> configuration section.</summary>
public sealed class ApprovalsOptions
{
    /// <summary>A pending approval older than this is denied as "timed out" and its requester told (0: never, the default).</summary>
    public double TimeoutMinutes { get; set; }
}
