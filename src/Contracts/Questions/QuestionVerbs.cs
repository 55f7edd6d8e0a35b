using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Hive.Contracts.Messages;

namespace Hive.Contracts.Questions;

public sealed record AskArgs(
    [property: Required] string? Question,
    [property: Description("an agent's name; leave out to ask the operator")] string? To,
    [property: Description("suggested answers (free text is always allowed)")] string?[]? Options,
    [property: Description("several options may be chosen")] bool? Multi,
    [property: Range(1, 21600), Description("unanswered by then it resolves as [expired]")] long? TtlSeconds);

public sealed record AnswerArgs([property: Required] long? Id, [property: Required] string? Answer);

/// <summary>The agents' question verbs.</summary>
public static class QuestionVerbs
{
    public static readonly SocketVerb<AskArgs, IdReply> Ask = new("ask",
        "Ask the operator (no to) or another agent a question; the answer comes as a message of kind answer.", McpTool: true);

    public static readonly SocketVerb<AnswerArgs, NoReply> Answer = new("answer", "Answer a question someone asked you.", McpTool: true);
}
