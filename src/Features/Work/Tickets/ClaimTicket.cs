using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// An agent takes a ticket (<c>ticket_claim</c>). Atomic: one agent holds a ticket; a second claim is a <c>conflict</c>
/// naming the holder, and a claim again by the holder (a retry after a lost reply) answers as the first did. The ticket
/// must be in a worked phase, unblocked, its dependencies done, not offered to another agent, and the agent must have a
/// capability the phase needs. The reply carries what the agent needs to start: the phase's prompt, done definition,
/// expected outputs and the context earlier phases handed on.
/// </summary>
public static class ClaimTicket
{
    public sealed record Command(string Agent, long Id) : IRequest<TicketDetail>, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, TicketMoves moves, AgentPool pool, IMediator mediator, TimeProvider clock)
        : IRequestHandler<Command, TicketDetail>
    {
        public async Task<TicketDetail> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = moves.Reread(change, command.Id);
            if (row.Assignee == command.Agent) return await mediator.Send(new ReadTicket.Query(row.Id), cancellationToken);
            if (row.Assignee is { } holder) throw new ConflictException($"ticket {row.Id} is held by {holder} (claimed {row.ClaimedAt:O})");
            var phase = catalog.Get(row.Workflow).Find(row.Phase)!;
            if (phase.Terminal) throw new ConflictException($"ticket {row.Id} is done");
            if (row.ResumePhase is not null) throw new ConflictException($"ticket {row.Id} is blocked on question {row.BlockedQuestionId}");
            if (!phase.IsWorked)
                throw new ConflictException($"ticket {row.Id} is in {phase.Name}, where nobody claims it ({(phase.ReviewedBy is null ? "the board moves it on" : "it waits for its review")})");
            if (row.NextPhase is not null) throw new ConflictException($"ticket {row.Id} passed its gate and waits for room in {row.NextPhase}");
            if (row.OfferedTo is { } offeree && offeree != command.Agent)
                throw new ConflictException($"ticket {row.Id} is offered to {offeree} since {row.OfferedAt:O}");
            if (moves.WaitingOn(change, row.Id) is { Count: > 0 } waiting)
                throw new ConflictException($"ticket {row.Id} waits for ticket{(waiting.Count > 1 ? "s" : "")} {string.Join(", ", waiting)} to be done");
            var agent = (await pool.ListAsync(mediator, cancellationToken)).FirstOrDefault(a => a.Name == command.Agent);
            if (agent is null || !agent.Has(phase.Needs))
                throw new ForbiddenException($"{phase.Name} needs an agent with {string.Join(" or ", phase.Needs)}; {command.Agent} has {(agent is { Capabilities.Count: > 0 } ? string.Join(", ", agent.Capabilities) : "no capabilities")}");

            var now = clock.GetUtcNow();
            var claimed = change.Execute("""
                UPDATE tickets SET assignee = @Agent, claimed_at = @now, offered_to = NULL, offered_at = NULL, updated_at = @now
                WHERE id = @Id AND assignee IS NULL
                """, new { command.Agent, command.Id, now });
            if (claimed != 1) throw new ConflictException($"ticket {row.Id} was claimed by another agent");
            moves.Raise(change, moves.Reread(change, row.Id));
            return await mediator.Send(new ReadTicket.Query(row.Id), cancellationToken);
        }
    }
}
