using Hive.Features.StateFiles;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Reminders;

/// <summary>
/// The operator cancels a reminder, or an agent one of its own (<c>cancel_loose_end</c>): a hard delete. A recurring
/// reminder's run is cancelled alone; the recurring reminder goes on.
/// </summary>
public static class CancelReminder
{
    /// <param name="Agent">When an agent cancels: the reminder must be its own (else forbidden, and nothing changes).</param>
    public sealed record Command(long Id, string? Agent = null) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, IStateFileWriter files, IFileRefScanner fileRefs, TimeProvider clock, ILogger<Handler> logger)
        : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            if (command.Agent is not null)
            {
                var owner = change.QuerySingleOrDefault<string>("SELECT agent FROM reminders WHERE id = @Id", command)
                    ?? throw new NotFoundException($"no reminder {command.Id}");
                if (owner != command.Agent) throw new ForbiddenException($"reminder {command.Id} is not yours to cancel");
            }
            var (agent, bodyFile, recurringId) = change.QuerySingleOrDefault<(string, string?, long?)>(
                "DELETE FROM reminders WHERE id = @Id RETURNING agent, body_file, recurring_id", command);
            if (agent is null) throw new NotFoundException($"no reminder {command.Id}");
            change.Raise(new ReminderCancelled(command.Id, agent, RemindersSql.PendingFor(change, agent)));
            // A recurring reminder's run: its history says it was cancelled (the recurring reminder goes on).
            RecurringReminders.SettleRuns(change, [new RunOutcome(command.Id, recurringId, RunStates.Cancelled)], fileRefs, clock.GetUtcNow());
            // The long body's file goes with the reminder, once the delete has committed (a reminder that fires keeps its
            // file: the agent it wakes reads it). Only the file the host wrote, and never through a link.
            if (bodyFile is not null) change.AfterPublished(() => files.DeleteQuietly(agent, bodyFile, logger));
            return Unit.Task;
        }
    }
}
