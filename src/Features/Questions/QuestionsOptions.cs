namespace Hive.Features.Questions;

/// <summary>The <c>Hive:Questions</c> configuration section.</summary>
public sealed class QuestionsOptions
{
    /// <summary>Open questions one agent may have asked; the next <c>ask</c> is refused with <c>too_many</c> (429).</summary>
    public int MaxOpenPerAgent { get; set; } = 100;

    /// <summary>How often the expiry sweep looks for questions past their deadline (fractions allowed).</summary>
    public double TickSeconds { get; set; } = 1;
}
