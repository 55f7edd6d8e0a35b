using Hive.Features.Messages;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// Asks for the review of a ticket in a reviewed phase: a question from <c>hive</c> to an agent with the reviewing
/// capability that is up, not held and not its last worker (the one with the fewest reviews open first), or to the
/// operator when there is none (always the operator for <c>reviewed_by: operator</c>). Answered <c>approve</c> or
/// <c>changes</c> (<see cref="ApplyQuestionAnswer"/>).
/// </summary>
internal sealed class TicketReviews(WorkflowCatalog catalog, AgentPool pool)
{
    public const string Approve = "approve";
    public const string Changes = "changes";
    public const string ReviewKind = "ticket_review";

    public async Task<TicketRow> AskAsync(StateChange change, IMediator mediator, TicketRow row, string? lastWorker)
    {
        var phase = catalog.Get(row.Workflow).Find(row.Phase)!;
        var open = change.Query<string>("SELECT reviewer FROM tickets WHERE reviewer IS NOT NULL").CountBy(r => r).ToDictionary();
        var reviewer = phase.ReviewedBy == AgentNames.Operator ? null : (await pool.ListAsync(mediator, CancellationToken.None))
            .Where(a => a.Up && a.Held is null && a.Name != lastWorker && a.Capabilities.Contains(phase.ReviewedBy!))
            .OrderBy(a => open.GetValueOrDefault(a.Name)).ThenBy(a => a.Name, StringComparer.Ordinal)
            .Select(a => a.Name).FirstOrDefault();
        var summary = row.ContextEntries.LastOrDefault(c => c.Summary is not null)?.Summary;
        var text = $"Review ticket #{row.Id} \"{TicketRules.Clip(row.Title, 200)}\" ({row.Workflow}, phase {row.Phase})" +
                   (lastWorker is null ? "" : $", worked by {lastWorker}") + (summary is null ? "" : $": {TicketRules.Clip(summary, 400)}") +
                   $". Answer {Approve}, or {Changes}: what must change.";
        var question = await mediator.Send(new AskQuestion.Command(AgentNames.Hive, reviewer, TicketRules.Clip(text, AskQuestion.MaxBytes), [Approve, Changes]),
            CancellationToken.None);
        change.Execute("UPDATE tickets SET review_question_id = @Id, reviewer = @who WHERE id = @ticket",
            new { question.Id, who = reviewer ?? AgentNames.Operator, ticket = row.Id });
        // A peer learns of a question asked of it from its loose ends; a review is work, so it is told at once.
        if (reviewer is not null)
            await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, reviewer, ReviewKind,
                $"{text}\nAnswer it: answer {{\"id\": {question.Id}, \"answer\": \"{Approve}\"}} (or \"{Changes}: ...\"); ticket_show {{\"id\": {row.Id}}} shows its context." +
                (catalog.Get(row.Workflow).Repository is null ? "" :
                    $" Its branch: review_show {{\"ticket\": {row.Id}}}; comment on lines with review_comment, and give the verdict with review_submit (request_changes or approve) instead of answering."),
                new Dictionary<string, object?> { ["ticket_id"] = row.Id, ["question_id"] = question.Id })]), CancellationToken.None);
        return TicketReads.Get(change, row.Id);
    }
}
