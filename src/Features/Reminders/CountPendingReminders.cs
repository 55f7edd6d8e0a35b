using Dapper;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>How many reminders an agent has waiting (failed ones included).</summary>
public static class CountPendingReminders
{
    public sealed record Query(string Agent) : IRequest<long>;

    /// <summary>Every agent's count at once (agents with none are absent).</summary>
    public sealed record All : IRequest<IReadOnlyDictionary<string, long>>;

    internal sealed class AllHandler(IDb db) : IRequestHandler<All, IReadOnlyDictionary<string, long>>
    {
        public Task<IReadOnlyDictionary<string, long>> Handle(All query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            return Task.FromResult<IReadOnlyDictionary<string, long>>(connection
                .Query<(string Agent, long Pending)>("SELECT agent, pending FROM reminder_pending WHERE pending > 0")
                .ToDictionary(r => r.Agent, r => r.Pending, StringComparer.Ordinal));
        }
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, long>
    {
        public Task<long> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            return Task.FromResult(RemindersSql.PendingFor(connection, query.Agent));
        }
    }
}
