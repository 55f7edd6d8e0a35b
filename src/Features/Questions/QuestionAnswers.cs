namespace Hive.Features.Questions;

/// <summary>The answers a question resolves with when no one chose one, for the slices that act on their own questions' answers.</summary>
public static class QuestionAnswers
{
    public const string Expired = ResolveQuestions.Expired;
    public const string Cancelled = ResolveQuestions.Cancelled;
}
