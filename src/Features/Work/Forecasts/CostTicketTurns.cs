using Hive.Features.Governance;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work.Forecasts;

/// <summary>
/// Keeps tickets' turns and costs as turns come and go: a granted turn is noted as working on the tickets its agent holds
/// (<see cref="TicketTurns"/>); an ended one makes its finished tickets' costs again, since its last calls may have been
/// metered after the ticket reached done (a ticket is submitted in the middle of its turn).
/// </summary>
public static class CostTicketTurns
{
    public sealed record NoteGranted(long TurnId, string Agent, DateTimeOffset At) : IRequest, IChangesState;

    public sealed record CostEnded(long TurnId) : IRequest, IChangesState;

    internal sealed class NoteGrantedHandler(StateChanges changes, WorkflowCatalog catalog) : IRequestHandler<NoteGranted>
    {
        public Task<Unit> Handle(NoteGranted command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            TicketTurns.Note(change, command.TurnId, TicketTurns.HeldBy(change, command.Agent, catalog), command.Agent, command.At);
            return Task.FromResult(Unit.Value);
        }
    }

    internal sealed class CostEndedHandler(StateChanges changes, IMediator mediator) : IRequestHandler<CostEnded>
    {
        public async Task<Unit> Handle(CostEnded command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            foreach (var ticket in change.Query<long>("""
                SELECT t.ticket_id FROM ticket_turns t JOIN ticket_outcomes o ON o.ticket_id = t.ticket_id WHERE t.turn_id = @TurnId
                """, command))
                change.Execute("UPDATE ticket_outcomes SET cost_usd = @cost WHERE ticket_id = @ticket",
                    new { ticket, cost = await TicketTurns.CostAsync(change, mediator, ticket) });
            return Unit.Value;
        }
    }

    /// <summary>Never throws: the turn is granted or ended already, and a failure here must not fail its agent's request (logged).</summary>
    internal sealed class OnTurns(IMediator mediator, ILogger<OnTurns> logger) : INotificationHandler<TurnGranted>, INotificationHandler<TurnEnded>
    {
        public Task Handle(TurnGranted notification, CancellationToken cancellationToken) =>
            QuietlyAsync(new NoteGranted(notification.Turn.TurnId, notification.Turn.Agent, notification.Turn.GrantedAt), notification.Turn.TurnId);

        public Task Handle(TurnEnded notification, CancellationToken cancellationToken) => QuietlyAsync(new CostEnded(notification.TurnId), notification.TurnId);

        private async Task QuietlyAsync(IRequest command, long turnId)
        {
            try
            {
                await mediator.Send(command, CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "work: turn {Turn}'s tickets could not be noted or costed; their cost may be short", turnId);
            }
        }
    }
}
