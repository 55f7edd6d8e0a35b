using Hive.Contracts.Work;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work;

/// <summary>
/// An agent takes a ticket (<c>ticket_claim</c>). Atomic: one agent holds a ticket; a second claim is a <c>conflict</c>
/// naming the holder, and a claim again by the holder (a retry after a lost reply) answers as the first did. The ticket
/// must be in a worked phase, unblocked, its dependencies done, not offered to another agent; the agent must have a
/// capability the phase needs, hold fewer than <c>MaxClaimsPerAgent</c> open tickets, and not be held by the governor.
/// For a workflow that names a repository, the ticket's worktree is then made at the agent's <c>/work</c> (outside the
/// claim's change: git is slow); if that fails, the claim is given back and the reply says why. The reply (the brief)
/// carries what the agent needs to start: the phase's prompt, done definition, expected outputs and the context earlier
/// phases handed on, the finished tickets most like this one with their outcomes, and the operator's notes for its workflow.
/// </summary>
public static class ClaimTicket
{
    public sealed record Command(string Agent, long Id) : IRequest<TicketDetail>;

    internal sealed class Handler(IMediator mediator, WorkflowCatalog catalog, TicketWorkspaces workspaces, Memory.TicketMemory memory, ILogger<Command> logger)
        : IRequestHandler<Command, TicketDetail>
    {
        public async Task<TicketDetail> Handle(Command command, CancellationToken cancellationToken)
        {
            // Its forecast first, in a change of its own: a question it asks stays asked when the claim is refused.
            if (await mediator.Send(new Forecasts.ForecastClaim.Command(command.Agent, command.Id), cancellationToken) is { } wait)
                throw new ConflictException(wait);
            var taken = await mediator.Send(new Take(command.Agent, command.Id), cancellationToken);
            if (WorkRepository.Of(catalog.Find(taken.Workflow)) is { } repository)
            {
                try
                {
                    await workspaces.EnsureAsync(taken.Id, taken.Title, command.Agent, repository, CancellationToken.None);
                }
                catch (Exception e) when (e is HiveException)
                {
                    logger.LogWarning("work: ticket {Ticket}'s workspace for {Agent} could not be made ({Why}); the claim is given back", taken.Id, command.Agent, e.Message);
                    await mediator.Send(new ReleaseTicket.Command(command.Agent, taken.Id), CancellationToken.None);
                    throw new ConflictException($"ticket {taken.Id}'s workspace could not be made, so it is not claimed: {e.Message}");
                }
            }
            var detail = await mediator.Send(new ReadTicket.Query(taken.Id), cancellationToken);
            return detail with { Similar = memory.Similar(detail.Ticket), WorkflowNotes = memory.NotesFor(detail.Ticket.Workflow) };
        }
    }

    /// <summary>The claim itself, one change; a claim again by the holder changes nothing.</summary>
    internal sealed record Take(string Agent, long Id) : IRequest<TicketView>, IChangesState;

    internal sealed class TakeHandler(StateChanges changes, WorkflowCatalog catalog, TicketFacts facts, AgentPool pool, IMediator mediator,
        IOptions<WorkOptions> options, TimeProvider clock) : IRequestHandler<Take, TicketView>
    {
        public async Task<TicketView> Handle(Take command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = TicketReads.Get(change, command.Id);
            if (row.Assignee == command.Agent) return TicketReads.View(change.Connection, change.Transaction, row, catalog);
            if (row.Assignee is { } holder) throw new ConflictException($"ticket {row.Id} is held by {holder} (claimed {Stamp(row.ClaimedAt)})");
            var phase = catalog.PhaseOf(row);
            if (phase.Terminal) throw new ConflictException($"ticket {row.Id} is done");
            if (row.ResumePhase is not null) throw new ConflictException($"ticket {row.Id} is blocked on question {row.BlockedQuestionId}");
            if (!phase.IsWorked)
                throw new ConflictException($"ticket {row.Id} is in {phase.Name}, where nobody claims it ({(phase.ReviewedBy is null ? "the board moves it on" : "it waits for its review")})");
            if (row.NextPhase is not null) throw new ConflictException($"ticket {row.Id} passed its gate and waits for room in {row.NextPhase}");
            if (row.OfferedTo is { } offeree && offeree != command.Agent)
                throw new ConflictException($"ticket {row.Id} is offered to {offeree} since {Stamp(row.OfferedAt)}");
            if (facts.WaitingOn(change, row.Id) is { Count: > 0 } waiting) throw new ConflictException(TicketMoveRule.WaitsFor(row.Id, waiting));
            var agent = await pool.FindAsync(mediator, command.Agent, cancellationToken);
            if (agent is null || !agent.Has(phase.Needs))
                throw new ForbiddenException($"{phase.Name} needs an agent with {string.Join(" or ", phase.Needs)}; {command.Agent} has {(agent is { Capabilities.Count: > 0 } ? string.Join(", ", agent.Capabilities) : "no capabilities")}");
            if (agent.Held is { } held) throw new ConflictException($"{command.Agent} is {held} by the governor: it takes no work until let go");
            var max = options.Value.MaxClaimsPerAgent;
            var holding = change.Query<(long Id, string Workflow, string Phase)>("SELECT id, workflow, phase FROM tickets WHERE assignee = @Agent", command)
                .Where(t => !catalog.IsTerminal(t.Workflow, t.Phase)).Select(t => t.Id).ToList();
            if (holding.Count >= max)
                throw new ConflictException($"{command.Agent} already holds ticket{(holding.Count > 1 ? "s" : "")} {string.Join(", ", holding)} (at most {max}): submit or release first");

            var now = clock.GetUtcNow();
            var claimed = change.Execute("""
                UPDATE tickets SET assignee = @Agent, claimed_at = @now, offered_to = NULL, offered_at = NULL, updated_at = @now
                WHERE id = @Id AND assignee IS NULL
                """, new { command.Agent, command.Id, now });
            if (claimed != 1) throw new ConflictException($"ticket {row.Id} was claimed by another agent");
            // Claimed in a running turn: that turn works on it (its cost counts to it).
            if (await mediator.Send(new Governance.ReadRunningTurn.Query(command.Agent), cancellationToken) is { } turn)
                Forecasts.TicketTurns.Note(change, turn.Id, [row.Id], command.Agent, now);
            return change.RaiseTicketChanged(TicketReads.Get(change, row.Id), catalog);
        }

        private static string Stamp(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture) ?? "?";
    }
}
