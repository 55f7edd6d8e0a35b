using Dapper;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// Who sent the messages an agent holds now (handed out, not yet acknowledged, whether or not its ack timeout has passed): what woke it. Governance asks, to grant a
/// wake caused by the operator first.
/// </summary>
public static class ListInFlightSenders
{
    public sealed record Query(string Agent) : IRequest<IReadOnlyList<string>>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<string>>
    {
        public Task<IReadOnlyList<string>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            IReadOnlyList<string> senders = connection.Query<string>("""
                SELECT DISTINCT sender FROM messages
                WHERE recipient = @Agent AND delivered_at IS NULL AND undeliverable_at IS NULL AND delivery_count > 0
                """, new { query.Agent }).AsList();
            return Task.FromResult(senders);
        }
    }
}
