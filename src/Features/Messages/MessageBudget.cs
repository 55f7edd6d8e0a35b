using System.Text;
using Dapper;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Limits;
using Microsoft.Extensions.Options;

namespace Hive.Features.Messages;

/// <summary>
/// What each agent may send of message bodies per hour (<see cref="MessagesOptions.BytesPerHour"/>). Counted in memory
/// (a send is the hot path), from this hour's <c>messages</c> rows when first used: newest first, stopping a minute before
/// the hour began (ids follow commit order, and a row's time is taken just before its batch commits), so only this hour's
/// rows are read.
/// </summary>
internal sealed class MessageBudget(IOptions<MessagesOptions> options, IDb db, TimeProvider clock)
{
    public HourlyByteBudget Budget { get; } = new(options.Value.BytesPerHour, "message bodies", "Hive:Messages:BytesPerHour", clock, hour =>
    {
        var bySender = new Dictionary<string, long>(StringComparer.Ordinal);
        var stop = hour - TimeSpan.FromMinutes(1);
        using var connection = db.Open();
        foreach (var (sender, bytes, sentAt) in connection.Query<(string, long, DateTimeOffset)>(
                     "SELECT sender, length(CAST(body AS BLOB)), sent_at FROM messages ORDER BY id DESC", buffered: false))
        {
            if (sentAt < stop) break;
            if (sentAt >= hour) bySender[sender] = bySender.GetValueOrDefault(sender) + bytes;
        }
        return bySender;
    });

    /// <summary>
    /// Counts a send of <paramref name="body"/> to <paramref name="copies"/> recipients against its agent's hour inside the
    /// running change (given back if the change rolls back), or refuses it; returns the bytes counted (0 for the operator).
    /// </summary>
    public long Take(StateChange change, string from, string body, int copies = 1)
    {
        if (from == AgentNames.Operator) return 0;
        var bytes = (long)Encoding.UTF8.GetByteCount(body) * copies;
        Budget.Take(from, bytes);
        change.OnRolledBack(() => Budget.GiveBack(from, bytes));
        return bytes;
    }
}

/// <summary>Each agent row's <c>message_storage</c>: what it sent this hour, its limit, and since when more was refused.</summary>
internal sealed record MessageStorageFacts(StorageBudget MessageStorage);

internal sealed class MessageStorageOnAgentRows(MessageBudget budget) : AgentRowContributor<MessageStorageFacts>
{
    protected override Task<IReadOnlyDictionary<string, MessageStorageFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, MessageStorageFacts> facts = agents.ToDictionary(
            a => a.Name, a => new MessageStorageFacts(budget.Budget.Of(a.Name)), StringComparer.Ordinal);
        return Task.FromResult(facts);
    }
}
