using Dapper;
using Hive.Contracts.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// The messages an agent holds now (handed out, not yet acknowledged), in the order they were handed out: what woke its
/// turn. The gateway keeps them with the turn's checkpoint, to hand the same messages to a replay of it.
/// </summary>
public static class ListInFlightMessages
{
    public sealed record Query(string Agent) : IRequest<IReadOnlyList<MessageView>>;

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs) : IRequestHandler<Query, IReadOnlyList<MessageView>>
    {
        public Task<IReadOnlyList<MessageView>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            IReadOnlyList<MessageView> messages = connection.Query<MessageRow>($"""
                SELECT {MessageRow.Columns} FROM messages
                WHERE recipient = @Agent AND delivered_at IS NULL AND undeliverable_at IS NULL AND delivery_count > 0
                ORDER BY id
                """, new { query.Agent }).Select(r => r.View(fileRefs)).ToList();
            return Task.FromResult(messages);
        }
    }
}
