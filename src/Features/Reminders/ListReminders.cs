using Dapper;
using Hive.Features.StateFiles;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>Every pending reminder, soonest first, failed ones included.</summary>
public static class ListReminders
{
    public sealed record Query : IRequest<IReadOnlyList<ReminderView>>;

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs) : IRequestHandler<Query, IReadOnlyList<ReminderView>>
    {
        public async Task<IReadOnlyList<ReminderView>> Handle(Query query, CancellationToken cancellationToken)
        {
            const string sql = $"SELECT {ReminderRow.Columns} FROM reminders ORDER BY due_at, id;";
            using var connection = db.Open();
            var rows = await connection.QueryAsync<ReminderRow>(new CommandDefinition(sql, cancellationToken: cancellationToken));
            return rows.Select(r => r.View(fileRefs)).ToList();
        }
    }
}

/// <summary>The operator cancels a reminder: a hard delete.</summary>
public static class CancelReminder
{
    public sealed record Command(long Id) : IRequest;

    internal sealed class Handler(IDb db, IMediator mediator, Hive.Shared.Dashboard.StateChangeGate gate) : IRequestHandler<Command>
    {
        public async Task<MediatR.Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            using (await gate.EnterChangeAsync(cancellationToken))
            {
                string? agent;
                long pending = 0;
                using (var connection = db.Open())
                using (var transaction = connection.BeginTransaction())
                {
                    agent = connection.Query<string>("DELETE FROM reminders WHERE id = @Id RETURNING agent", command, transaction).SingleOrDefault();
                    if (agent is not null) pending = RemindersSql.PendingFor(connection, agent, transaction);
                    transaction.Commit();
                }
                if (agent is null) throw new Hive.Shared.Errors.NotFoundException($"no reminder {command.Id}");
                await mediator.Publish(new ReminderCancelled(command.Id, agent, pending), CancellationToken.None);
            }
            return MediatR.Unit.Value;
        }
    }
}

/// <summary>The operator retries a failed reminder: the counters reset and the next tick attempts it again.</summary>
public static class RetryReminder
{
    public sealed record Command(long Id) : IRequest<ReminderView>;

    internal sealed class Handler(IDb db, IMediator mediator, Hive.Shared.Dashboard.StateChangeGate gate, IFileRefScanner fileRefs)
        : IRequestHandler<Command, ReminderView>
    {
        public async Task<ReminderView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string reset = $"""
                UPDATE reminders SET attempt_count = 0, last_error = NULL WHERE id = @Id
                RETURNING {ReminderRow.Columns};
                """;
            using (await gate.EnterChangeAsync(cancellationToken))
            {
                ReminderRow? row;
                using (var connection = db.Open())
                    row = connection.Query<ReminderRow>(reset, command).SingleOrDefault();
                if (row is null) throw new Hive.Shared.Errors.NotFoundException($"no reminder {command.Id}");
                var view = row.View(fileRefs);
                await mediator.Publish(new ReminderReset(view), CancellationToken.None);
                return view;
            }
        }
    }
}
