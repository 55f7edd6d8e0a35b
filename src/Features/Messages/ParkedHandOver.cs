using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Hive.Features.Messages;

/// <summary>
/// The writer's half of a hand-over: inside the transaction that stores a batch, each recipient with a parked
/// <c>recv</c> has its oldest messages handed out to it, as its own take would (oldest first, at most its max, in
/// flight until the ack timeout). Only when every available message of the recipient is one this batch stores:
/// an older one may wait to be set aside as undeliverable, with its notice to the operator, which is the take's work.
/// </summary>
internal sealed class ParkedHandOver(InboxSignals signals, IOptions<MessagesOptions> options, TimeProvider clock)
{
    private const string HandOutFromBatch = $"""
        {ReceiveMessage.HandOut}
          AND NOT EXISTS (SELECT 1 FROM messages WHERE {ReceiveMessage.Available} AND id < @First)
        RETURNING {MessageRow.Columns};
        """;

    public sealed record Claimed(ParkedReceiver Receiver, ParkedReceiver.HandedOut HandedOut);

    /// <summary>Claims the parked receivers of <paramref name="stored"/>'s recipients and hands their messages out.</summary>
    /// <param name="claimed">Filled as it goes, so a failure part-way still lets the caller release every claim.</param>
    public void HandOut(SqliteTransaction transaction, IEnumerable<MessageRow> stored, List<Claimed> claimed)
    {
        if (!signals.AnyParked) return; // the common case under load: nobody waiting, nothing to look up per batch
        var firstByRecipient = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var row in stored) firstByRecipient.TryAdd(row.Recipient, row.Id);
        var now = clock.GetUtcNow();
        var until = now + options.Value.AckTimeout;
        foreach (var (recipient, first) in firstByRecipient)
        {
            if (signals.Claim(recipient) is not { } receiver) continue;
            claimed.Add(new Claimed(receiver, new ParkedReceiver.HandedOut([], until)));
            var rows = transaction.Connection!.Query<MessageRow>(HandOutFromBatch,
                new { Agent = recipient, Now = now, Until = until, receiver.Max, First = first }, transaction).OrderBy(r => r.Id).ToList();
            claimed[^1] = new Claimed(receiver, new ParkedReceiver.HandedOut(rows, until));
        }
    }

    /// <summary>After the batch's commit: each receiver gets its rows, or none when the batch rolled back.</summary>
    public static void Complete(List<Claimed> claimed, bool committed)
    {
        foreach (var (receiver, handedOut) in claimed) receiver.Hand(committed ? handedOut : handedOut with { Rows = [] });
        claimed.Clear();
    }
}
