using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>How many reminders an agent has waiting (failed ones included).</summary>
public static class CountPendingReminders
{
    public sealed record Query(string Agent) : IRequest<long>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, long>
    {
        public Task<long> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            return Task.FromResult(RemindersSql.PendingFor(connection, query.Agent));
        }
    }
}
