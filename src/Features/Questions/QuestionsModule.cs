using Carter;
using Hive.Shared.Agents;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>The operator's question routes: routing only.</summary>
public sealed class QuestionsModule : CarterModule
{
    public QuestionsModule(IMediator mediator) : base("/api/questions")
    {
        Get("/", async (req, res) =>
        {
            var filter = req.Query["filter"];
            // limit (or its older name, answered) and before page the answered list; pending_limit and pending_after the pending one.
            var answered = req.QueryLong("limit") ?? req.QueryLong("answered") ?? ListQuestions.DefaultAnswered;
            var pendingLimit = req.QueryLong("pending_limit") ?? ListQuestions.DefaultPendingLimit;
            await res.Ok(await mediator.Send(
                new ListQuestions.Query(filter.Count == 0 ? ListQuestions.All : filter.Count == 1 ? filter[0] : "", (int)Math.Min(answered, int.MaxValue),
                    req.QueryLong("before"), (int)Math.Min(pendingLimit, int.MaxValue), req.QueryLong("pending_after")),
                req.HttpContext.RequestAborted));
        });

        Post("/{id}/answer", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<AnswerBody>();
            await res.Ok(await mediator.Send(
                new AnswerQuestion.Command(req.RouteLong("id"), AgentNames.Operator, body.Answer), req.HttpContext.RequestAborted));
        });

        Post("/{id}/cancel", async (req, res) =>
            await res.Ok(await mediator.Send(new CancelQuestion.Command(req.RouteLong("id")), req.HttpContext.RequestAborted)));
    }

    public sealed record AnswerBody(string? Answer);
}
