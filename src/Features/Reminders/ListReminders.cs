using Dapper;
using FluentValidation;
using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>
/// Pending reminders (failed ones included) a page at a time, newest first: keyset on the id (ids are never reused),
/// <c>?before=&lt;id&gt;&amp;limit=&lt;n&gt;</c>. The soonest ones are the snapshot's (<see cref="ListSoonestReminders"/>).
/// </summary>
public static class ListReminders
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 500;

    public sealed record Query(long? Before = null, int Limit = DefaultLimit) : IRequest<IReadOnlyList<ReminderView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit);
            RuleFor(q => q.Before).GreaterThan(0).When(q => q.Before is not null);
        }
    }

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs) : IRequestHandler<Query, IReadOnlyList<ReminderView>>
    {
        public async Task<IReadOnlyList<ReminderView>> Handle(Query query, CancellationToken cancellationToken)
        {
            const string sql = $"""
                SELECT {ReminderRow.Columns} FROM reminders
                WHERE @Before IS NULL OR id < @Before
                ORDER BY id DESC
                LIMIT @Limit;
                """;
            using var connection = db.Open();
            var rows = await connection.QueryAsync<ReminderRow>(new CommandDefinition(sql, query, cancellationToken: cancellationToken));
            return rows.Select(r => r.View(fileRefs)).ToList();
        }
    }
}
