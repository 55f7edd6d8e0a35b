using Dapper;
using Hive.Shared.Data;
using Hive.Shared.Work;
using MediatR;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// Forge's questions about the work layer's branches (Shared's <see cref="FindBranchWorker"/> and
/// <see cref="ListWorkRepositories"/>): who gets what the forge says about a ticket's branch, and which repositories the
/// workflows name.
/// </summary>
internal static class BranchWorkers
{
    /// <summary>
    /// The agent whose worktree holds the branch (or whose submit pushed the commit); else, for a branch named as the hive
    /// names a ticket's, that ticket's assignee when its workflow names this repository (a worktree removed, say).
    /// </summary>
    internal sealed class FindHandler(IDb db, WorkflowCatalog catalog) : IRequestHandler<FindBranchWorker, string?>
    {
        public async Task<string?> Handle(FindBranchWorker query, CancellationToken cancellationToken)
        {
            const string byWorkspace = """
                SELECT agent FROM ticket_workspaces
                WHERE repository = @Repository COLLATE NOCASE AND removed_at IS NULL AND (branch = @Branch OR head_sha = @Sha)
                ORDER BY ticket_id DESC LIMIT 1
                """;
            using var connection = db.Open();
            var agent = await connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(byWorkspace,
                new { query.Repository, query.Branch, query.Sha }, cancellationToken: cancellationToken));
            if (agent is not null || TicketOf(query.Branch) is not { } id) return agent;

            const string ticket = "SELECT title, workflow, assignee FROM tickets WHERE id = @id";
            var row = await connection.QuerySingleOrDefaultAsync<TicketBranch>(new CommandDefinition(ticket, new { id }, cancellationToken: cancellationToken));
            return row is { Assignee: { } assignee } && WorkspaceNames.BranchOf(id, row.Title) == query.Branch
                   && string.Equals(catalog.Find(row.Workflow)?.Repository, query.Repository, StringComparison.OrdinalIgnoreCase)
                ? assignee
                : null;
        }

        /// <summary>The id in <c>ticket/&lt;id&gt;-…</c>; null for any other branch.</summary>
        private static long? TicketOf(string? branch)
        {
            if (branch is null || !branch.StartsWith("ticket/", StringComparison.Ordinal)) return null;
            var rest = branch["ticket/".Length..];
            var dash = rest.IndexOf('-');
            return dash > 0 && long.TryParse(rest[..dash], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                ? id
                : null;
        }

        internal sealed record TicketBranch(string Title, string Workflow, string? Assignee);
    }

    internal sealed class ListHandler(WorkflowCatalog catalog) : IRequestHandler<ListWorkRepositories, IReadOnlyList<string>>
    {
        public Task<IReadOnlyList<string>> Handle(ListWorkRepositories query, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<string>>(catalog.All.Values.Select(w => w.Repository).OfType<string>()
                .Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList());
    }
}
