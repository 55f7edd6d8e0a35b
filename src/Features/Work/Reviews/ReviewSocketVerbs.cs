using Hive.Contracts.Work;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Socket;

namespace Hive.Features.Work.Reviews;

/// <summary>The agents' review verbs: <c>review_show</c>, <c>review_comment</c>, <c>review_reply</c>, <c>review_resolve</c>, <c>review_submit</c>.</summary>
internal sealed class ReviewSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map(ReviewVerbs.ReviewShow, async (request, args) =>
        {
            var ticket = args.Ticket ?? 0;
            var diff = await request.Mediator.Send(new ReadTicketDiff.Query(ticket), request.CancellationToken);
            return new ReviewShowReply(diff, await request.Mediator.Send(new ReadReview.Query(ticket), request.CancellationToken));
        });

        verbs.Map(ReviewVerbs.ReviewComment, async (request, args) => new ReviewCommentReply(await request.Mediator.Send(
            new CommentOnLines.Command(request.Agent, args.Ticket ?? 0, args.Path, args.Line, args.StartLine, args.Side, args.Text), request.CancellationToken)));

        verbs.Map(ReviewVerbs.ReviewReply, async (request, args) => new ReviewCommentReply(await request.Mediator.Send(
            new ReplyToComment.Command(request.Agent, args.Comment ?? 0, args.Text), request.CancellationToken)));

        verbs.Map(ReviewVerbs.ReviewResolve, async (request, args) => new ReviewCommentReply(await request.Mediator.Send(
            new ResolveComment.Command(request.Agent, args.Comment ?? 0, args.Commit), request.CancellationToken)));

        verbs.Map(ReviewVerbs.ReviewSubmit, async (request, args) => await request.Mediator.Send(
            new SubmitReview.Command(request.Agent, args.Ticket ?? 0, args.Verdict, args.Body), request.CancellationToken));
    }
}
