using Carter;
using Hive.Shared.Agents;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Work.Reviews;

/// <summary>The operator's review of a ticket's diff: comments on lines, replies, resolutions, reviews. Routing only.</summary>
public sealed class ReviewsModule : CarterModule
{
    public ReviewsModule(IMediator mediator) : base("/api")
    {
        Get("/tickets/{id}/review", async (req, res) => await res.Ok(await mediator.Send(new ReadReview.Query(req.RouteLong("id")), req.HttpContext.RequestAborted)));

        Post("/tickets/{id}/comments", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<CommentBody>();
            var comment = await mediator.Send(new CommentOnLines.Command(AgentNames.Operator, req.RouteLong("id"), body.Path, body.Line, body.StartLine, body.Side, body.Text),
                req.HttpContext.RequestAborted);
            await res.Created($"/api/tickets/{comment.TicketId}/review", comment);
        });

        Post("/comments/{id}/replies", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<TextBody>();
            var reply = await mediator.Send(new ReplyToComment.Command(AgentNames.Operator, req.RouteLong("id"), body.Text), req.HttpContext.RequestAborted);
            await res.Created($"/api/tickets/{reply.TicketId}/review", reply);
        });

        Post("/comments/{id}/resolve", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<ResolveBody>();
            await res.Ok(await mediator.Send(new ResolveComment.Command(AgentNames.Operator, req.RouteLong("id"), body.Commit), req.HttpContext.RequestAborted));
        });

        Post("/tickets/{id}/reviews", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<ReviewBody>();
            var review = await mediator.Send(new SubmitReview.Command(AgentNames.Operator, req.RouteLong("id"), body.Verdict, body.Body), req.HttpContext.RequestAborted);
            await res.Created($"/api/tickets/{review.Review.TicketId}/review", review);
        });
    }

    private sealed record CommentBody(string? Path, int? Line, int? StartLine, string? Side, string? Text);

    private sealed record TextBody(string? Text);

    private sealed record ResolveBody(string? Commit);

    private sealed record ReviewBody(string? Verdict, string? Body);
}
