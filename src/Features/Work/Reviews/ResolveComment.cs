using System.Text.RegularExpressions;
using FluentValidation;
using Hive.Contracts.Work;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.Reviews;

/// <summary>
/// The ticket's owner marks a comment's thread resolved with the commit on the ticket's branch that addresses it
/// (<c>review_resolve</c>); the operator may resolve one too, with or without a commit (<c>POST /api/comments/{id}/resolve</c>).
/// The commit must be on the branch. The thread's writer, when an agent, hears of it (<c>review_resolved</c>).
/// </summary>
public static partial class ResolveComment
{
    public sealed record Command(string By, long CommentId, string? Commit) : IRequest<ReviewComment>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Commit).Must(c => c is null || Sha().IsMatch(c)).WithMessage("commit is a commit's sha (4 to 64 hex digits)");
    }

    internal sealed class Handler(IDb db, ReviewParties parties, TicketDiffs diffs, IMediator mediator) : IRequestHandler<Command, ReviewComment>
    {
        public async Task<ReviewComment> Handle(Command command, CancellationToken cancellationToken)
        {
            ReviewRows.CommentRow comment;
            using (var connection = db.Open())
                comment = ReviewRows.Comment(connection, null, command.CommentId) ?? throw new NotFoundException($"no review comment {command.CommentId}");
            var threadId = ReviewRows.ThreadOf(comment);
            var (_, _, owner) = parties.TicketOf(comment.TicketId);
            if (command.By != AgentNames.Operator && command.By != owner)
                throw new ForbiddenException($"comment {threadId} is on ticket {comment.TicketId}, whose owner ({owner}) resolves it");
            if (command.By != AgentNames.Operator && command.Commit is null)
                throw new BadRequestException("name the commit on the ticket's branch that addresses it: commit");
            string? commit = null;
            if (command.Commit is not null)
            {
                var (_, bare, head) = await diffs.HeadAsync(comment.TicketId, cancellationToken);
                commit = await diffs.CommitOnAsync(bare, command.Commit, head, cancellationToken)
                         ?? throw new BadRequestException($"{command.Commit} is not a commit on ticket {comment.TicketId}'s branch");
            }
            return await mediator.Send(new Save(command.By, threadId, commit), cancellationToken);
        }
    }

    internal sealed record Save(string By, long ThreadId, string? Commit) : IRequest<ReviewComment>, IChangesState;

    internal sealed class SaveHandler(StateChanges changes, ReviewParties parties, IMediator mediator, TimeProvider clock) : IRequestHandler<Save, ReviewComment>
    {
        public async Task<ReviewComment> Handle(Save save, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var thread = ReviewRows.Comment(change.Connection, change.Transaction, save.ThreadId)!;
            if (thread.ResolvedAt is not null)
                throw new ConflictException($"comment {thread.Id} was resolved by {thread.ResolvedBy}{(thread.ResolvedCommit is null ? "" : $" with {thread.ResolvedCommit}")}");
            change.Execute("UPDATE review_comments SET resolved_by = @By, resolved_commit = @Commit, resolved_at = @now WHERE id = @ThreadId",
                new { save.By, save.Commit, save.ThreadId, now = clock.GetUtcNow() });
            var resolved = ReviewRows.Comment(change.Connection, change.Transaction, save.ThreadId)!;
            await parties.TellAsync(mediator, save.By, [thread.Author], ReviewMessages.Resolved,
                $"{save.By} resolved your comment {thread.Id} on ticket #{thread.TicketId} ({thread.Path} line {thread.Line}){(save.Commit is null ? "" : $" with {save.Commit}")}.",
                ReviewMessages.Extra(resolved));
            change.Raise(new ReviewChanged(thread.TicketId, ReviewChanged.Resolved, thread.Id, null));
            return resolved.View();
        }
    }

    [GeneratedRegex("^[0-9a-fA-F]{4,64}$")]
    private static partial Regex Sha();
}
