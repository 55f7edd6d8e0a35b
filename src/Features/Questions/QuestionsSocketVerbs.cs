using Hive.Shared.Socket;

namespace Hive.Features.Questions;

/// <summary>The agents' question verbs: <c>ask</c> and <c>answer</c>.</summary>
internal sealed class QuestionsSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map("ask", async request =>
        {
            var args = request.Bind<AskArgs>();
            var question = await request.Mediator.Send(new AskQuestion.Command(request.Agent, args.To, args.Question, args.Options, args.Multi ?? false, args.TtlSeconds), request.CancellationToken);
            return new { id = question.Id };
        });

        verbs.Map("answer", async request =>
        {
            var args = request.Bind<AnswerArgs>();
            if (args.Id is not { } id) throw new Hive.Shared.Errors.BadRequestException("answer needs an integer id");
            await request.Mediator.Send(new AnswerQuestion.Command(id, request.Agent, args.Answer), request.CancellationToken);
            return null;
        });
    }

    private sealed record AskArgs(string? Question, string? To, string?[]? Options, bool? Multi, long? TtlSeconds);

    private sealed record AnswerArgs(long? Id, string? Answer);
}
