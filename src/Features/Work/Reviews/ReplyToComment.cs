using FluentValidation;
using Hive.Contracts.Work;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.Reviews;

/// <summary>
/// An answer in a comment's thread (<c>POST /api/comments/{id}/replies</c>, <c>review_reply</c>): by the ticket's owner,
/// the operator, or a reviewer. It joins the thread (a reply to a reply joins the same thread) and, in the same change,
/// every agent in the thread but its writer gets it as a <c>review_reply</c> message.
/// </summary>
public static class ReplyToComment
{
    public sealed record Command(string By, long CommentId, string? Text) : IRequest<ReviewComment>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Text).ReviewText();
    }

    internal sealed class Handler(StateChanges changes, ReviewParties parties, IMediator mediator, TimeProvider clock)
        : IRequestHandler<Command, ReviewComment>
    {
        public async Task<ReviewComment> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var answered = ReviewRows.Comment(change.Connection, change.Transaction, command.CommentId) ?? throw new NotFoundException($"no review comment {command.CommentId}");
            var thread = ReviewRows.Comment(change.Connection, change.Transaction, ReviewRows.ThreadOf(answered))!;
            var (workflow, _, owner) = parties.TicketOf(thread.TicketId);
            var inThread = ReviewRows.Comments(change.Connection, change.Transaction, thread.TicketId).Where(c => ReviewRows.ThreadOf(c) == thread.Id).ToList();
            if (command.By != AgentNames.Operator && command.By != owner && inThread.All(c => c.Author != command.By)
                && !await parties.ReviewsAsync(mediator, command.By, workflow, cancellationToken))
                throw new ForbiddenException($"comment {thread.Id} is on ticket {thread.TicketId}, which {command.By} neither owns nor reviews");

            var reply = ReviewRows.Insert(change, new ReviewRows.CommentRow(0, thread.TicketId, thread.Id, command.By, null, null, null, null, null, null,
                command.Text!, clock.GetUtcNow(), null, null, null));
            var body = $"{command.By} replied on ticket #{thread.TicketId}, {thread.Path} line {thread.Line} (comment {thread.Id}): {command.Text}\n\n" +
                       $"Answer it: review_reply {{\"comment\": {thread.Id}, \"text\": \"...\"}}.";
            await parties.TellAsync(mediator, command.By, [owner, .. inThread.Select(c => c.Author)], ReviewMessages.Reply, body, ReviewMessages.Extra(reply, thread));
            change.Raise(new ReviewChanged(thread.TicketId, ReviewChanged.Replied, reply.Id, null));
            return reply.View();
        }
    }
}
