namespace Hive.Features.Work.Workspaces;

/// <summary>
/// A ticket's workspace as the operator sees it (<c>GET /api/workspaces</c>). <paramref name="Path"/> is where a sandboxed
/// agent sees it (<c>/work</c>; a <c>process</c>-driver agent finds it at <c>$HIVE_WORK_DIR</c>, the host path);
/// <paramref name="Bytes"/> what it held when last measured (at creation, at each push, and at removal: what removing it
/// freed); <paramref name="HeadSha"/> the last commit pushed, <paramref name="BaseSha"/> where the branch started.
/// </summary>
public sealed record WorkspaceView(
    long TicketId, string Agent, string Repository, string Branch, string Path, string? HostPath, long Bytes, DateTimeOffset CreatedAt,
    DateTimeOffset MeasuredAt, string BaseSha, string? HeadSha, DateTimeOffset? RemovedAt);

/// <summary>The disk the live workspaces hold (<c>GET /api/workspaces/usage</c>).</summary>
public sealed record WorkspaceUsage(int Workspaces, long Bytes);
