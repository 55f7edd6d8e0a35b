using Hive.Contracts.Work;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Work.Reviews;

/// <summary>
/// A ticket's review (<c>GET /api/tickets/{id}/review</c>, <c>review_show</c>): its owner, its branch's head, every comment
/// and reply (oldest first) and every review submitted. A thread written at an older head is <c>touched</c> when the
/// branch's diff since then changed its lines (for lines the branch removed: its file): a later push shows which comments
/// it answered.
/// </summary>
public static class ReadReview
{
    public sealed record Query(long TicketId) : IRequest<ReviewThreads>;

    internal sealed class Handler(IDb db, TicketDiffs diffs) : IRequestHandler<Query, ReviewThreads>
    {
        public async Task<ReviewThreads> Handle(Query query, CancellationToken cancellationToken)
        {
            var (workspace, bare, head) = await diffs.HeadAsync(query.TicketId, cancellationToken);
            List<ReviewRows.CommentRow> comments;
            List<ReviewDecision> decisions;
            using (var connection = db.Open())
            {
                comments = ReviewRows.Comments(connection, null, query.TicketId);
                decisions = ReviewRows.Decisions(connection, null, query.TicketId);
            }
            var changes = new Dictionary<(string, string), string>();
            var views = new List<ReviewComment>();
            foreach (var comment in comments)
            {
                var touched = false;
                if (comment is { ParentId: null, HeadSha: { } then, Path: { } path, StartLine: { } start, Line: { } end } && then != head)
                {
                    if (!changes.TryGetValue((then, path), out var patch))
                        changes[(then, path)] = patch = await diffs.ChangesAsync(bare, then, head, path, cancellationToken);
                    touched = comment.Side == PatchHunks.Old ? patch.Length > 0 : PatchHunks.Touches(patch, (int)start, (int)end);
                }
                views.Add(comment.View(touched));
            }
            return new ReviewThreads(query.TicketId, workspace.Agent, head, views, decisions);
        }
    }
}
