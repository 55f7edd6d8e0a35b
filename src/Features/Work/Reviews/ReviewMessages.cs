using FluentValidation;

namespace Hive.Features.Work.Reviews;

/// <summary>The messages a review sends its agents, and the rule for what a comment, a reply or a review may say.</summary>
internal static class ReviewMessages
{
    /// <summary>A comment on lines of the ticket the recipient owns.</summary>
    public const string Comment = "review_comment";

    /// <summary>A reply in a thread the recipient takes part in.</summary>
    public const string Reply = "review_reply";

    /// <summary>A thread the recipient opened was resolved.</summary>
    public const string Resolved = "review_resolved";

    /// <summary>A review of the ticket the recipient owns was submitted.</summary>
    public const string Submitted = "review_submitted";

    /// <summary>What a comment's message carries besides its text, for a program to read: the ticket, the comment, its thread, file, lines, quote and text.</summary>
    public static IReadOnlyDictionary<string, object?> Extra(ReviewRows.CommentRow comment, ReviewRows.CommentRow? thread = null)
    {
        var root = thread ?? comment;
        return new Dictionary<string, object?>
        {
            ["ticket_id"] = comment.TicketId, ["comment_id"] = comment.Id, ["thread_id"] = root.Id, ["author"] = comment.Author,
            ["path"] = root.Path, ["side"] = root.Side, ["start_line"] = root.StartLine, ["line"] = root.Line, ["quoted"] = root.Quoted, ["text"] = comment.Text,
        };
    }

    public static IRuleBuilderOptions<T, string?> ReviewText<T>(this IRuleBuilder<T, string?> rule, bool required = true) =>
        rule.Must(t => required ? !string.IsNullOrWhiteSpace(t) : true).WithMessage("say something: text")
            .Must(t => t is null || System.Text.Encoding.UTF8.GetByteCount(t) <= CommentOnLines.MaxTextBytes)
            .WithMessage($"at most {CommentOnLines.MaxTextBytes} UTF-8 bytes").WithErrorCode(Hive.Shared.Errors.ErrorCodes.TooLarge);
}
