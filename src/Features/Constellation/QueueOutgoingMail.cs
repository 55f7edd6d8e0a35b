using Hive.Shared.Changes;
using Hive.Shared.Constellation;
using Hive.Shared.Hosting;
using MediatR;

namespace Hive.Features.Constellation;

/// <summary>
/// A local send to <c>agent@other-hive</c> (Messages sends <see cref="RelayToHive"/> from inside its change): the outbox row
/// commits with the message, and the relay is woken once it has.
/// </summary>
public static class QueueOutgoingMail
{
    internal sealed class Handler(StateChanges changes, ConstellationOptions options, MailOutboxSignal signal, TimeProvider clock) : IRequestHandler<RelayToHive>
    {
        public Task<Unit> Handle(RelayToHive request, CancellationToken cancellationToken)
        {
            var destination = HiveAddresses.Parse(request.To)!.Value.Hive; // Messages sends only addresses it judged remote
            var envelope = new MailEnvelope(MailEnvelope.Message, $"{request.From}@{options.Name}", request.To, request.Body, request.SentAt);
            Add(changes.Current, signal, destination, envelope, request.MessageId, clock.GetUtcNow());
            return Unit.Task;
        }
    }

    /// <summary>
    /// One outbox row in the running change, numbered next in its destination's sequence (the counter and the row commit
    /// together, so numbers follow commit order); the relay hears of it after the commit.
    /// </summary>
    internal static void Add(StateChange change, MailOutboxSignal signal, string destination, MailEnvelope envelope, long? messageId, DateTimeOffset now)
    {
        var seq = change.QuerySingle<long>("""
            INSERT INTO constellation_outbound_sequences (destination, last_seq) VALUES (@destination, 1)
            ON CONFLICT (destination) DO UPDATE SET last_seq = last_seq + 1
            RETURNING last_seq
            """, new { destination });
        change.Execute("""
            INSERT INTO constellation_outbox (destination, kind, payload, message_id, created_at, seq)
            VALUES (@destination, @Kind, @payload, @messageId, @now, @seq)
            """, new { destination, envelope.Kind, payload = (envelope with { Seq = seq }).ToJson(), messageId, now, seq });
        change.AfterPublished(signal.Wake);
    }
}

/// <summary>Wakes the relay when a change added to the outbox.</summary>
internal sealed class MailOutboxSignal : WakeSignal;
