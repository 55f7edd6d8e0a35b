using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Hive.Contracts.Work;

/// <param name="Status">git's letter: <c>A</c>dded, <c>M</c>odified, <c>D</c>eleted, <c>R</c>enamed (then <paramref name="OldPath"/>).</param>
/// <param name="Added">Lines added; null for a binary file.</param>
public sealed record DiffFile(string Path, string? OldPath, string Status, int? Added, int? Removed);

/// <summary>A ticket's branch against the commit it started from: each file changed and the unified patch (cut at 1 MiB, and then says so).</summary>
/// <param name="HeadSha">The branch's head in the clone; <paramref name="BaseSha"/> when nothing was committed yet.</param>
public sealed record TicketDiff(long TicketId, string Repository, string Branch, string BaseSha, string HeadSha, IReadOnlyList<DiffFile> Files,
    string Patch, bool Truncated);

/// <summary>
/// A comment on lines of a ticket's diff, or a reply in its thread (<c>parent_id</c>; a reply has no lines of its own).
/// <c>side</c> is <c>new</c> (the branch's lines) or <c>old</c> (the base's, for lines removed); <c>quoted</c> holds the
/// lines as they were when it was written, at <c>head_sha</c>. <c>touched</c>: the branch moved since and its diff
/// changed these lines (or the file). Resolved by its ticket's owner with the commit that addresses it.
/// </summary>
public sealed record ReviewComment(
    long Id, long TicketId, long? ParentId, string Author, string? Path, string? Side, int? StartLine, int? Line, string? Quoted, string? HeadSha,
    string Text, DateTimeOffset WrittenAt, string? ResolvedBy, string? ResolvedCommit, DateTimeOffset? ResolvedAt, bool Touched);

/// <summary>A submitted review: <c>comment</c>, <c>request_changes</c> (the ticket went back to be worked) or <c>approve</c> (its review passed).</summary>
public sealed record ReviewDecision(long Id, long TicketId, string Reviewer, string Verdict, string? Body, string HeadSha, DateTimeOffset SubmittedAt);

/// <summary>A ticket's review: who owns its branch (the comments go to them), the head now, every comment (oldest first) and every review submitted.</summary>
public sealed record ReviewThreads(long TicketId, string Owner, string HeadSha, IReadOnlyList<ReviewComment> Comments, IReadOnlyList<ReviewDecision> Decisions);

public static class ReviewVerdicts
{
    public const string Comment = "comment";
    public const string RequestChanges = "request_changes";
    public const string Approve = "approve";
    public static readonly IReadOnlyList<string> All = [Comment, RequestChanges, Approve];
}

public sealed record ReviewShowArgs([property: Required, Description("the ticket's id")] long? Ticket);

public sealed record ReviewCommentArgs(
    [property: Required, Description("the ticket's id")] long? Ticket,
    [property: Required, Description("the file, as the diff names it")] string? Path,
    [property: Required, Description("the line (the last of a range), numbered as in the file on that side")] int? Line,
    [property: Description("the first line of a range (default: line)")] int? StartLine,
    [property: Description("new (default: the branch's lines) or old (lines the branch removed)")] string? Side,
    [property: Required] string? Text);

public sealed record ReviewReplyArgs([property: Required, Description("the comment answered")] long? Comment, [property: Required] string? Text);

public sealed record ReviewResolveArgs(
    [property: Required, Description("the comment resolved")] long? Comment,
    [property: Description("the commit on the ticket's branch that addresses it (required of the ticket's owner)")] string? Commit);

public sealed record ReviewSubmitArgs(
    [property: Required, Description("the ticket's id")] long? Ticket,
    [property: Required, Description("comment, request_changes or approve")] string? Verdict,
    [property: Description("what the review says as a whole")] string? Body);

/// <summary><c>review_show</c>: the ticket's diff and its review so far.</summary>
public sealed record ReviewShowReply(TicketDiff Diff, ReviewThreads Review);

public sealed record ReviewCommentReply(ReviewComment Comment);

/// <summary><c>review_submit</c>: the review and the ticket after it.</summary>
public sealed record ReviewSubmitReply(ReviewDecision Review, TicketView Ticket);

/// <summary><c>review_changed</c>: a comment, reply or resolution (<c>comment_id</c>) or a review (<c>review_id</c>) on a ticket; its page reads it again.</summary>
public sealed record ReviewChangedPayload(long TicketId, string What, long? CommentId, long? ReviewId);

/// <summary>The review verbs: reviewers comment and submit; the ticket's owner replies and resolves.</summary>
public static class ReviewVerbs
{
    public static readonly SocketVerb<ReviewShowArgs, ReviewShowReply> ReviewShow = new("review_show",
        "A ticket's diff against its base and its review so far (comments, replies, reviews).", Reach: VerbReach.Own);
    public static readonly SocketVerb<ReviewCommentArgs, ReviewCommentReply> ReviewComment = new("review_comment",
        "Comment on lines of a ticket's diff (an agent with the ticket's reviewing capability). Its owner gets it as a review_comment message.");
    public static readonly SocketVerb<ReviewReplyArgs, ReviewCommentReply> ReviewReply = new("review_reply",
        "Answer a review comment in its thread (the ticket's owner, or a reviewer).");
    public static readonly SocketVerb<ReviewResolveArgs, ReviewCommentReply> ReviewResolve = new("review_resolve",
        "Mark a review comment resolved with the commit on the ticket's branch that addresses it.");
    public static readonly SocketVerb<ReviewSubmitArgs, ReviewSubmitReply> ReviewSubmit = new("review_submit",
        "Submit a review of a ticket: comment, request_changes (back to be worked) or approve (its review passes).");
}

/// <summary>
/// A conflict risk between two active tickets (<c>ticket_a</c> &lt; <c>ticket_b</c>): <c>danger</c> when their changes
/// overlap lines (<c>reason</c> <c>same_lines</c>), <c>warning</c> when they change the same file (<c>same_file</c>) or one
/// changes a path the other's owner holds a lease on (<c>lease</c>). Cleared (<c>cleared_at</c>) once it no longer holds.
/// </summary>
public sealed record ConflictRisk(long Id, long TicketA, long TicketB, string Level, string Reason, IReadOnlyList<string> Files,
    DateTimeOffset RaisedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ClearedAt)
{
    public const string Danger = "danger";
    public const string Warning = "warning";
    public const string SameLines = "same_lines";
    public const string SameFile = "same_file";
    public const string Lease = "lease";
}

/// <summary><c>conflict_risk</c>: a risk raised, changed, or cleared (then <c>cleared_at</c> is set).</summary>
public sealed record ConflictRiskPayload(ConflictRisk Risk);
