using Dapper;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Work.Workspaces;

/// <summary><c>GET /api/workspaces</c>: every ticket's workspace, the live ones first, newest first; removed ones keep the bytes they freed.</summary>
public static class ListWorkspaces
{
    public sealed record Query : IRequest<IReadOnlyList<WorkspaceView>>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<WorkspaceView>>
    {
        public Task<IReadOnlyList<WorkspaceView>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var rows = connection.Query<WorkspaceRow>(new CommandDefinition("""
                SELECT ticket_id, agent, repository, branch, host_path, git_dir, base_sha, head_sha, bytes, created_at, measured_at, removed_at
                FROM ticket_workspaces ORDER BY removed_at IS NOT NULL, created_at DESC, ticket_id DESC LIMIT 1000
                """, cancellationToken: cancellationToken));
            return Task.FromResult<IReadOnlyList<WorkspaceView>>(rows.Select(r => r.View()).ToList());
        }
    }
}

/// <summary><c>GET /api/workspaces/usage</c>: how many workspaces are live and the bytes they held when last measured.</summary>
public static class ReadWorkspaceUsage
{
    public sealed record Query : IRequest<WorkspaceUsage>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, WorkspaceUsage>
    {
        public Task<WorkspaceUsage> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var (count, bytes) = connection.QuerySingle<(long, long)>(new CommandDefinition(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM ticket_workspaces WHERE removed_at IS NULL", cancellationToken: cancellationToken));
            return Task.FromResult(new WorkspaceUsage((int)count, bytes));
        }
    }
}
