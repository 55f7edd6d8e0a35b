using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>The operator retries a failed reminder: the counters reset and the next tick attempts it again.</summary>
public static class RetryReminder
{
    public sealed record Command(long Id) : IRequest<ReminderView>, IChangesState;

    internal sealed class Handler(StateChanges changes, IFileRefScanner fileRefs) : IRequestHandler<Command, ReminderView>
    {
        public Task<ReminderView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string reset = $"""
                UPDATE reminders SET attempt_count = 0, last_error = NULL WHERE id = @Id
                RETURNING {ReminderRow.Columns};
                """;
            var change = changes.Current;
            var view = change.QuerySingleOrDefault<ReminderRow>(reset, command)?.View(fileRefs)
                ?? throw new NotFoundException($"no reminder {command.Id}");
            change.Raise(new ReminderReset(view));
            return Task.FromResult(view);
        }
    }
}
