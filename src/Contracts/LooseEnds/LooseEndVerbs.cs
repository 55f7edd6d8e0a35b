using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Hive.Contracts.Messages;

namespace Hive.Contracts.LooseEnds;

/// <summary>
/// One of an agent's open threads: a question it asked that waits for an answer (<c>asked</c>), a question to it that
/// waits for its answer (<c>to_answer</c>), or a reminder it set that has not fired (<c>reminder</c>). <c>with</c> is
/// the other party of a question; <c>cancel</c> the kind <c>cancel_loose_end</c> takes for it, when the agent may.
/// </summary>
public sealed record LooseEnd(string Kind, long Id, string Text, DateTimeOffset Since, string? With, DateTimeOffset? Due, string? Cancel);

public sealed record LooseEndsReply(IEnumerable<LooseEnd> LooseEnds);

public sealed record CancelLooseEndArgs(
    [property: Required, AllowedValues("question", "reminder"), Description("the cancel field of the loose end")] string? Kind,
    [property: Required, Description("the loose end's id")] long? Id);

/// <summary>An agent's open threads, across the slices that own them.</summary>
public static class LooseEndVerbs
{
    public static readonly SocketVerb<NoArgs, LooseEndsReply> LooseEnds = new("loose_ends",
        "List your open threads, oldest first: questions you asked that wait for an answer (kind asked), questions put to you " +
        "that wait for your answer (kind to_answer: answer them with answer), and your reminders that have not fired (kind " +
        "reminder). Returns {loose_ends: [{kind, id, text, since, with, due, cancel}]}: with is the other party of a question, " +
        "due a reminder's time or a question's expiry, cancel the kind to give cancel_loose_end (null when it is not yours to cancel).",
        McpTool: true, Reach: VerbReach.Own);

    public static readonly SocketVerb<CancelLooseEndArgs, NoReply> CancelLooseEnd = new("cancel_loose_end",
        "Cancel one of your own loose ends: a question you asked (kind question; it is closed as [cancelled] and leaves whoever it " +
        "was put to) or a reminder you set (kind reminder; it never fires). Use the kind and id that loose_ends gives. Returns " +
        "{ok: true}; not_found when there is no such thread, forbidden when it is not yours, conflict when it is already resolved.",
        McpTool: true);
}
