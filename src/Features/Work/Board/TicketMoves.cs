using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work;

/// <summary>
/// The one way a ticket changes phase, inside the running change: the row, its history entry (with the gate's finding),
/// the review a reviewed phase asks for, a finished ticket's outcome (its memory), and <c>ticket_changed</c>, together.
/// Leaving a phase ends its claim, offer, ticks and submission: the next phase is worked afresh. Whether it may move is <see cref="TicketMoveRule"/>'s to say;
/// this does what the rule answered.
/// </summary>
internal sealed class TicketMoves(WorkflowCatalog catalog, TicketReviews reviews, Board board, Workspaces.TicketWorkspaces workspaces, Memory.TicketMemory memory,
    TimeProvider clock, ILogger<TicketMoves> logger)
{
    /// <summary>
    /// Does what the rule said: moves the ticket, or queues it in <paramref name="to"/> (<c>next_phase</c>, unclaimed) for the
    /// board to pull once there is room; a refusal is a <see cref="ConflictException"/> (with what is missing, for a gate).
    /// </summary>
    public async Task<TicketRow> ApplyAsync(StateChange change, IMediator mediator, TicketRow row, Phase to, string by, MoveVerdict verdict) => verdict switch
    {
        MoveVerdict.Move move => await MoveAsync(change, mediator, row, to.Name, by, move.Gate),
        MoveVerdict.Queue => Queue(change, row, to),
        MoveVerdict.Stay => row,
        _ => throw Refusal(verdict),
    };

    /// <summary>The exception a verdict that is not a move stands for.</summary>
    public static Exception Refusal(MoveVerdict verdict) => verdict switch
    {
        MoveVerdict.Refuse { Missing: { } missing } refuse => new ConflictException(refuse.Reason) { Errors = new Dictionary<string, string[]> { ["missing"] = [.. missing] } },
        MoveVerdict.Refuse refuse => new ConflictException(refuse.Reason),
        _ => new InvalidOperationException($"the move rule answered {verdict}, which the caller must act on first"),
    };

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
        var moved = TicketReads.Get(change, row.Id);
        var phase = catalog.Get(moved.Workflow).Find(to)!;
        if (phase.ReviewedBy is not null) moved = await reviews.AskAsync(change, mediator, moved, row.LastWorker ?? by);
        // Done: its outcome is kept, in this change (the files its branch changed are read from its clone once it is
        // published); its worktree goes (the branch stays on the forge); a host killed first removes it at the next start.
        if (phase.Terminal)
        {
            Memory.TicketOutcomes.Record(change, row, catalog.Get(moved.Workflow), now, await Forecasts.TicketTurns.CostAsync(change, mediator, row.Id));
            var workspace = workspaces.Get(row.Id);
            if (workspace is not null) change.AfterPublished(() => _ = memory.NoteBranchFilesAsync(row.Id));
            if (workspace is { RemovedAt: null }) change.AfterPublished(() => _ = RemoveWorkspaceAsync(row.Id));
        }
        change.RaiseTicketChanged(moved, catalog);
        change.AfterPublished(board.Poke);
        return moved;
    }

    /// <summary>The ticket waits in <paramref name="to"/> (<c>next_phase</c>), unclaimed, until the board pulls it.</summary>
    private TicketRow Queue(StateChange change, TicketRow row, Phase to)
    {
        change.Execute("UPDATE tickets SET next_phase = @to, assignee = NULL, claimed_at = NULL, review_question_id = NULL, reviewer = NULL WHERE id = @Id",
            new { to = to.Name, row.Id });
        var waiting = TicketReads.Get(change, row.Id);
        change.RaiseTicketChanged(waiting, catalog);
        change.AfterPublished(board.Poke);
        return waiting;
    }

    public static void History(StateChange change, long ticket, string? from, string to, string by, GateResult? gate, DateTimeOffset now) =>
        change.Execute("""
            INSERT INTO ticket_history (ticket_id, from_phase, to_phase, moved_by, moved_at, gate) VALUES (@ticket, @from, @to, @by, @now, @gate)
            """, new { ticket, from, to, by, now, gate = gate is null ? null : TicketRow.Json(gate) });

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
}
