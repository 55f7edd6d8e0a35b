namespace Hive.Contracts.Work;

/// <summary>
/// A ticket in its repository's merge queue: entered when its review approved it (its workflow names a repository),
/// <c>queued</c> until a batch takes it, <c>testing</c> in one, then <c>landed</c> (merged onto the base, the ticket done),
/// <c>returned</c> (a conflict or a failing check sent it back to be worked: <c>reason</c>, and <c>files</c> for a
/// conflict), <c>held</c> (the queue could not do its part: the check could not run, the repository refused; the operator
/// retries it) or <c>removed</c> (by the operator, or the ticket left its review). <c>position</c>: its place among the
/// queued, from 1. On a forge repository, <c>pull_number</c> and <c>pull_url</c>: the pull request its owner opened on
/// approval (the hive marks it merged once it lands: <c>pull_merged</c>).
/// </summary>
public sealed record MergeQueueEntry(
    long TicketId, string Title, string Repository, string State, int? Position, long? BatchId, string ApprovedBy, DateTimeOffset EnqueuedAt,
    DateTimeOffset? EndedAt, string? Reason, IReadOnlyList<string> Files, string? MergeSha, long? PullNumber = null, string? PullUrl = null,
    bool PullMerged = false)
{
    public const string Queued = "queued";
    public const string Testing = "testing";
    public const string Held = "held";
    public const string Landed = "landed";
    public const string Returned = "returned";
    public const string Removed = "removed";
    public static readonly IReadOnlyList<string> Live = [Queued, Testing, Held];
}

/// <summary>
/// A batch the queue tested: its tickets merged one after another onto <c>base</c> at <c>base_sha</c> (<c>result_sha</c>, the
/// last merge), checked, and pushed. A failing batch of more than one is split (its halves are batches with
/// <c>parent_id</c>). States: <c>merging</c>, <c>checking</c>, <c>pushing</c>, then <c>landed</c>, <c>red</c> (its check
/// failed), <c>empty</c> (nothing was left to merge), <c>interrupted</c> (the host stopped, or the base moved: its tickets
/// queued again) or <c>failed</c> (the queue could not finish it: <c>detail</c>).
/// </summary>
public sealed record MergeBatch(
    long Id, long? ParentId, string Repository, string Base, string BaseSha, IReadOnlyList<long> Tickets, string State, string? ResultSha,
    DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string? Detail, string? CheckTail, string? CheckLog)
{
    public const string Merging = "merging";
    public const string Checking = "checking";
    public const string Pushing = "pushing";
    public const string Landed = "landed";
    public const string Red = "red";
    public const string Empty = "empty";
    public const string Interrupted = "interrupted";
    public const string Failed = "failed";
    public static readonly IReadOnlyList<string> Running = [Merging, Checking, Pushing];
}

/// <summary>One step the queue took, as audited: a ticket queued, a batch started, merged, checked, pushed, landed, returned, ….</summary>
public sealed record MergeStep(long Id, string Repository, long? BatchId, long? TicketId, string Step, string Detail, string By, DateTimeOffset At);

/// <summary>A repository whose queue the operator paused: no batch starts until it is resumed.</summary>
public sealed record MergeQueuePause(string Repository, string PausedBy, DateTimeOffset PausedAt);

/// <summary>The merge queues: the live entries (queued in order, then testing and held) and the last ended, the recent batches and steps, the pauses.</summary>
public sealed record MergeQueueView(
    IReadOnlyList<MergeQueueEntry> Entries, IReadOnlyList<MergeBatch> Batches, IReadOnlyList<MergeStep> Steps, IReadOnlyList<MergeQueuePause> Paused);

/// <summary><c>merge_queue</c>: the queue took a step (<see cref="MergeStep"/>): the dashboard reads the queue again.</summary>
public sealed record MergeQueuePayload(MergeStep Step);
