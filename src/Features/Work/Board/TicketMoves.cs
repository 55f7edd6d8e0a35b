using Hive.Features.Messages;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Microsoft.Extensions.Logging;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// The one way a ticket changes phase, inside the running change: the row, its history entry (with the gate's finding),
/// the review a reviewed phase asks for, and <c>ticket_changed</c>, together. Leaving a phase ends its claim, offer,
/// ticks and submission: the next phase is worked afresh. Also what every use case shares: room in a column, whether
/// a ticket's dependencies are done, and raising its view.
/// </summary>
internal sealed class TicketMoves(WorkflowCatalog catalog, AgentPool pool, Board board, Workspaces.TicketWorkspaces workspaces, TimeProvider clock,
    ILogger<TicketMoves> logger)
{
    public const string Approve = "approve";
    public const string Changes = "changes";
    public const string ReviewKind = "ticket_review";

    public async Task<TicketRow> MoveAsync(StateChange change, IMediator mediator, TicketRow row, string to, string by, GateResult? gate)
    {
        var now = clock.GetUtcNow();
        change.Execute("""
            UPDATE tickets SET phase = @to, resume_phase = NULL, next_phase = NULL, assignee = NULL, claimed_at = NULL, offered_to = NULL,
                               offered_at = NULL, submitted = NULL, ticks = '[]', review_question_id = NULL, reviewer = NULL,
                               updated_at = @now, phase_entered_at = @now
            WHERE id = @Id
            """, new { row.Id, to, now });
        History(change, row.Id, row.Phase, to, by, gate, now);
        var moved = Reread(change, row.Id);
        var phase = catalog.Get(moved.Workflow).Find(to)!;
        if (phase.ReviewedBy is not null) moved = await AskReviewAsync(change, mediator, moved, LastWorker(row) ?? by);
        // Done: its worktree goes (the branch stays on the forge); a host killed first removes it at the next start.
        if (phase.Terminal && workspaces.Get(row.Id) is { RemovedAt: null }) change.AfterPublished(() => _ = RemoveWorkspaceAsync(row.Id));
        Raise(change, moved);
        change.AfterPublished(board.Poke);
        return moved;
    }

    private async Task RemoveWorkspaceAsync(long ticket)
    {
        try
        {
            await workspaces.RemoveAsync(ticket, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "work: ticket {Ticket} is done but its workspace could not be removed; the next start tries again", ticket);
        }
    }

    /// <summary>
    /// Moves the ticket to <paramref name="to"/> when that column has room and its dependencies are done; else it waits
    /// there (<c>next_phase</c>, unclaimed) and the board pulls it once both hold.
    /// </summary>
    public async Task<TicketRow> MoveOrQueueAsync(StateChange change, IMediator mediator, TicketRow row, Phase to, string by, GateResult? gate)
    {
        if (HasRoom(change, row.Workflow, to) && (to.Terminal ? WaitingOn(change, row.Id).Count == 0 : true))
            return await MoveAsync(change, mediator, row, to.Name, by, gate);
        change.Execute("UPDATE tickets SET next_phase = @to, assignee = NULL, claimed_at = NULL, review_question_id = NULL, reviewer = NULL WHERE id = @Id",
            new { to = to.Name, row.Id });
        var waiting = Reread(change, row.Id);
        Raise(change, waiting);
        change.AfterPublished(board.Poke);
        return waiting;
    }

    public void History(StateChange change, long ticket, string? from, string to, string by, GateResult? gate, DateTimeOffset now) =>
        change.Execute("""
            INSERT INTO ticket_history (ticket_id, from_phase, to_phase, moved_by, moved_at, gate) VALUES (@ticket, @from, @to, @by, @now, @gate)
            """, new { ticket, from, to, by, now, gate = gate is null ? null : TicketRow.Json(gate) });

    /// <summary>
    /// Asks for the review of a ticket in a reviewed phase: a question from <c>hive</c> to an agent with the reviewing
    /// capability that is up, not held and not its last worker (the one with the fewest reviews open first), or to the
    /// operator when there is none (always the operator for <c>reviewed_by: operator</c>). Answered <c>approve</c> or <c>changes</c> (<see cref="ApplyReview"/>).
    /// </summary>
    public async Task<TicketRow> AskReviewAsync(StateChange change, IMediator mediator, TicketRow row, string? lastWorker)
    {
        var phase = catalog.Get(row.Workflow).Find(row.Phase)!;
        var open = change.Query<string>("SELECT reviewer FROM tickets WHERE reviewer IS NOT NULL").CountBy(r => r).ToDictionary();
        var reviewer = phase.ReviewedBy == Phase.OperatorReview ? null : (await pool.ListAsync(mediator, CancellationToken.None))
            .Where(a => a.Up && a.Held is null && a.Name != lastWorker && a.Capabilities.Contains(phase.ReviewedBy!))
            .OrderBy(a => open.GetValueOrDefault(a.Name)).ThenBy(a => a.Name, StringComparer.Ordinal)
            .Select(a => a.Name).FirstOrDefault();
        var summary = row.ContextEntries.LastOrDefault(c => c.Summary is not null)?.Summary;
        var text = $"Review ticket #{row.Id} \"{Clip(row.Title, 200)}\" ({row.Workflow}, phase {row.Phase})" +
                   (lastWorker is null ? "" : $", worked by {lastWorker}") + (summary is null ? "" : $": {Clip(summary, 400)}") +
                   $". Answer {Approve}, or {Changes}: what must change.";
        var question = await mediator.Send(new AskQuestion.Command(AgentNames.Hive, reviewer, Clip(text, AskQuestion.MaxBytes), [Approve, Changes]), CancellationToken.None);
        change.Execute("UPDATE tickets SET review_question_id = @Id, reviewer = @who WHERE id = @ticket",
            new { question.Id, who = reviewer ?? AgentNames.Operator, ticket = row.Id });
        // A peer learns of a question asked of it from its loose ends; a review is work, so it is told at once.
        if (reviewer is not null)
            await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, reviewer, ReviewKind,
                $"{text}\nAnswer it: answer {{\"id\": {question.Id}, \"answer\": \"{Approve}\"}} (or \"{Changes}: ...\"); ticket_show {{\"id\": {row.Id}}} shows its context.",
                new Dictionary<string, object?> { ["ticket_id"] = row.Id, ["question_id"] = question.Id })]), CancellationToken.None);
        return Reread(change, row.Id);
    }

    /// <summary>Whether <paramref name="phase"/>'s column has room for one more ticket (its WIP limit; blocked tickets count in their column).</summary>
    public bool HasRoom(StateChange change, string workflow, Phase phase) =>
        phase.WipLimit is not { } limit || Count(change, workflow, phase.Name) < limit;

    public long Count(StateChange change, string workflow, string column) =>
        change.QuerySingle<long>("SELECT count(*) FROM tickets WHERE workflow = @workflow AND coalesce(resume_phase, phase) = @column",
            new { workflow, column });

    public void RefuseIfFull(StateChange change, string workflow, Phase phase)
    {
        if (!HasRoom(change, workflow, phase))
            throw new ConflictException($"{phase.Name} is at its WIP limit ({phase.WipLimit}): it takes another ticket when one leaves");
    }

    /// <summary>The tickets <paramref name="ticket"/> depends on that are not done.</summary>
    public IReadOnlyList<long> WaitingOn(StateChange change, long ticket) =>
        change.Query<(long Id, string Workflow, string Phase)>("""
            SELECT t.id, t.workflow, t.phase FROM ticket_dependencies d JOIN tickets t ON t.id = d.depends_on WHERE d.ticket_id = @ticket ORDER BY t.id
            """, new { ticket }).Where(d => !catalog.IsTerminal(d.Workflow, d.Phase)).Select(d => d.Id).ToList();

    /// <summary>Every workflow's terminal phases as <c>workflow/phase</c> (JSON), for queries that ask whether dependencies are done.</summary>
    public string TerminalPhases() => catalog.PhaseKeys(p => p.Terminal);

    public TicketRow Reread(StateChange change, long id) =>
        TicketReads.Find(change.Connection, change.Transaction, id) ?? throw new NotFoundException($"no ticket {id}");

    public TicketView Raise(StateChange change, TicketRow row)
    {
        var view = TicketReads.View(change.Connection, change.Transaction, row, catalog);
        change.Raise(new TicketChanged(view));
        return view;
    }

    /// <summary>The phase a ticket is in; a phase its workflow no longer has (a loaded version dropped it) is a conflict, never a crash.</summary>
    public static Phase PhaseOf(WorkflowCatalog catalog, TicketRow row) =>
        catalog.Find(row.Workflow)?.Find(row.Phase)
        ?? throw new ConflictException($"ticket {row.Id} is in {row.Workflow}/{row.Phase}, which the workflow in force does not have: the operator moves it");

    /// <summary>Who worked the ticket last: its assignee, or whoever handed on the last context entry.</summary>
    public static string? LastWorker(TicketRow row) => row.Assignee ?? row.ContextEntries.LastOrDefault()?.By;

    /// <summary><paramref name="text"/> cut to at most <paramref name="maxBytes"/> UTF-8 bytes (an ellipsis saying so), never inside a character.</summary>
    public static string Clip(string text, int maxBytes)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(text) <= maxBytes) return text;
        var budget = maxBytes - 3;
        var end = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if ((budget -= rune.Utf8SequenceLength) < 0) break;
            end += rune.Utf16SequenceLength;
        }
        return text[..end] + "…";
    }
}
