using Dapper;
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
            using var connection = db.Open();
            var askers = connection.Query<string>("SELECT DISTINCT asker FROM questions WHERE answered_at IS NULL");
            return Task.FromResult<IReadOnlyList<WaitingState>>(askers.Select(a => QuestionsSql.WaitingOf(connection, a)).ToList());
        }
    }
}
