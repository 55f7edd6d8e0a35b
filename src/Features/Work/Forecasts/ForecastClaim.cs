using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Work.Forecasts;

/// <summary>
/// Before a claim: the ticket's forecast is made again and weighed against the claimant's daily budget
/// (<see cref="TicketForecasts.CheckAsync"/>), in a change of its own, so the question it may ask stays asked when the
/// claim is then refused. A ticket the claim would refuse anyway (held, done, not worked) is left to the claim to say.
/// </summary>
internal static class ForecastClaim
{
    /// <returns>Why the claim must wait for the operator; null when it may go on.</returns>
    public sealed record Command(string Agent, long Id) : IRequest<string?>, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, TicketForecasts forecasts, IMediator mediator) : IRequestHandler<Command, string?>
    {
        public async Task<string?> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            if (TicketReads.Find(change.Connection, change.Transaction, command.Id) is not { Assignee: null } row) return null;
            if (catalog.Find(row.Workflow)?.Find(row.Phase) is not { IsWorked: true }) return null;
            var verdict = await forecasts.CheckAsync(change, mediator, row, command.Agent);
            if (verdict.Changed) change.RaiseTicketChanged(row, catalog);
            return verdict.Refusal;
        }
    }
}
