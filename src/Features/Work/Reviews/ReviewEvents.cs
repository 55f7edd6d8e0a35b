using Hive.Contracts.Work;
using Hive.Shared.Dashboard;

namespace Hive.Features.Work.Reviews;

/// <summary>A ticket's review changed: a comment, a reply, a resolution or a review submitted. Its page reads the review again.</summary>
public sealed record ReviewChanged(long TicketId, string What, long? CommentId, long? ReviewId) : IDashboardEvent<ReviewChangedPayload>
{
    public const string Commented = "commented";
    public const string Replied = "replied";
    public const string Resolved = "resolved";
    public const string Reviewed = "reviewed";

    public string EventType => "review_changed";
    public ReviewChangedPayload Payload => new(TicketId, What, CommentId, ReviewId);
}
