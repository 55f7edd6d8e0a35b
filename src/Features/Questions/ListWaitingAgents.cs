using Dapper;
using Hive.Contracts.Questions;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>Every agent that waits on an open question, and on whom.</summary>
public static class ListWaitingAgents
{
    public sealed record Query : IRequest<IReadOnlyList<WaitingState>>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<WaitingState>>
    {
        public Task<IReadOnlyList<WaitingState>> Handle(Query query, CancellationToken cancellationToken)
        {
            // One query (the snapshot runs it under the gate): each asker's oldest open question, by the partial index.
            const string sql = """
                SELECT q.asker, q.target, q.asked_at FROM
                    (SELECT min(id) AS id FROM questions WHERE answered_at IS NULL GROUP BY asker) AS oldest
                JOIN questions AS q ON q.id = oldest.id;
                """;
            using var connection = db.Open();
            var rows = connection.Query<(string Asker, string? Target, DateTimeOffset AskedAt)>(sql);
            return Task.FromResult<IReadOnlyList<WaitingState>>(
                rows.Select(r => new WaitingState(r.Asker, Targets.Display(r.Target), r.AskedAt)).ToList());
        }
    }
}
