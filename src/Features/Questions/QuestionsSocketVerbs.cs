using Hive.Contracts.Messages;
using Hive.Contracts.Questions;
using Hive.Shared.Socket;

namespace Hive.Features.Questions;

/// <summary>The agents' question verbs: <c>ask</c> and <c>answer</c>.</summary>
internal sealed class QuestionsSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map(QuestionVerbs.Ask, async (request, args) =>
        {
            var question = await request.Mediator.Send(new AskQuestion.Command(request.Agent, args.To, args.Question, args.Options, args.Multi ?? false, args.TtlSeconds), request.CancellationToken);
            return new IdReply(question.Id);
        });

        verbs.Map(QuestionVerbs.Answer, async (request, args) =>
        {
            if (args.Id is not { } id) throw new Hive.Shared.Errors.BadRequestException("answer needs an integer id");
            await request.Mediator.Send(new AnswerQuestion.Command(id, request.Agent, args.Answer), request.CancellationToken);
        });
    }
}
