using Hive.Features.Messages;

namespace Hive.Features.Questions;

/// <summary>How a resolution reaches the asker, whoever resolved it (target, operator, cancel or expiry): one message of kind <c>answer</c>.</summary>
internal static class ResolvedQuestions
{
    /// <summary>The operator's cancel: the answer an open question resolves with.</summary>
    public const string Cancelled = "[cancelled]";

    /// <summary>The deadline passed unanswered: the answer and the answerer it resolves with.</summary>
    public const string Expired = "[expired]";
    public const string ExpiredBy = "ttl";

    /// <summary>The asker's message for a resolved question, sent <paramref name="from"/> whoever resolved it.</summary>
    public static AppendMessages.Draft AnswerMessage(QuestionView resolved, string from) =>
        new(from, resolved.Asker, MessageKinds.Answer, resolved.Answer!, new Dictionary<string, object?>
        {
            ["question_id"] = resolved.Id,
            ["question"] = resolved.Question,
            ["answerer"] = resolved.Answerer,
            ["answer_refs"] = resolved.AnswerRefs,
        });
}
