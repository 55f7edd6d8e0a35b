using System.Text;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Constellation;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Constellation;

/// <summary>
/// One delivery from the broker, taken in by one change: the inbox row keyed by its global id, and what it brings (a
/// message in the local broker, an undeliverable notice for the sender's hive through the outbox, or a dead letter).
/// Each sending hive's mail is taken in in its sequence order: an arrival ahead of a gap is held (acknowledged, kept in
/// <c>constellation_held</c>) until the gap fills, or (<see cref="ReleaseOverdue"/>) past
/// <see cref="ConstellationOptions.ReorderWindowSeconds"/> once the sender's heartbeat says the gap has left its outbox and
/// this hive's own queue has nothing more that could be it, or
/// past <see cref="ConstellationOptions.ReorderHoldMaxSeconds"/> whatever it says; one behind it (a gap given up on) is
/// taken in late. Copies are dropped by global id only.
/// </summary>
public static class ReceiveFromHive
{
    public enum Outcome
    {
        /// <summary>Taken in, held for its turn, a copy already taken in, or kept as a dead letter: acknowledge it.</summary>
        Done,
        /// <summary>Published under another hive's name: reject it (no requeue); a dead letter records it.</summary>
        Refused,
    }

    /// <param name="UserId">The AMQP <c>user-id</c>: RabbitMQ has checked it names the publishing connection's user.</param>
    /// <param name="RoutingKey">The hive it was routed to (this one).</param>
    public sealed record Command(string? GlobalId, string? UserId, string RoutingKey, byte[] Body) : IRequest<Outcome>, IChangesState;

    /// <summary>Takes in the mail held past the reorder window whose gap is given up on (and what follows it without a gap); answers how many pairs moved on.</summary>
    /// <param name="QueueSettled">
    /// This hive's queue had nothing ready and no consumer but this hive's own when last asked: the gap's mail is not
    /// waiting there (a restarted broker hands back what a dead connection held, and mail can queue behind a slow inbox).
    /// </param>
    public sealed record ReleaseOverdue(bool QueueSettled) : IRequest<int>, IChangesState;

    /// <summary>
    /// The most a delivery may weigh before it is parsed: an honest envelope (a body of at most
    /// <see cref="SendMessage.MaxBodyBytes"/>, even all of it escaped, and two addresses) is far below.
    /// </summary>
    public const int MaxEnvelopeBytes = 16 * 1024;

    private sealed record Held(string GlobalId, string FromHive, long Seq, string UserId, string RoutingKey, string Body);

    internal sealed class Handler(
        StateChanges changes, ConstellationOptions options, IAgentDirectory agents, IRecipientPolicy recipients, IMediator mediator,
        MailOutboxSignal signal, TimeProvider clock, ILogger<Handler> logger)
        : IRequestHandler<Command, Outcome>, IRequestHandler<ReleaseOverdue, int>
    {
        public async Task<Outcome> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var own = options.Name!;
            if (command.Body.Length > MaxEnvelopeBytes)
            {
                logger.LogWarning("constellation inbox: message {Id} from user {User} is {Bytes} bytes, over the {Max} an envelope may be; kept as a dead letter",
                    command.GlobalId, command.UserId, command.Body.Length, MaxEnvelopeBytes);
                DeadLetter(change, command, $"refused: {command.Body.Length} bytes, over the {MaxEnvelopeBytes} an envelope may be");
                return Outcome.Done;
            }
            var envelope = MailEnvelope.Parse(command.Body);
            if (envelope is null || string.IsNullOrEmpty(command.GlobalId)
                || HiveAddresses.Parse(envelope.From) is not { } from || HiveAddresses.Parse(envelope.To) is not { } to)
            {
                logger.LogWarning("constellation inbox: message {Id} from user {User} is not mail; kept as a dead letter", command.GlobalId, command.UserId);
                DeadLetter(change, command, "unparseable");
                return Outcome.Done;
            }
            // The sender's hive is whoever RabbitMQ says published it; a message claiming another hive (in its from, its
            // global id, or sent to a hive not this one) is refused.
            if (command.UserId != from.Hive || !command.GlobalId.StartsWith(from.Hive + ":", StringComparison.Ordinal)
                || to.Hive != own || command.RoutingKey != own)
            {
                logger.LogWarning("constellation inbox: refused message {Id}: published by user {User} as {From} to {To}",
                    command.GlobalId, command.UserId, envelope.From, envelope.To);
                DeadLetter(change, command, $"refused: user {command.UserId} published as {envelope.From} to {envelope.To}");
                return Outcome.Refused;
            }
            var fresh = change.QuerySingleOrDefault<string>("""
                INSERT INTO constellation_inbox (global_id, from_hive, received_at) VALUES (@GlobalId, @hive, @now)
                ON CONFLICT (global_id) DO NOTHING
                RETURNING global_id
                """, new { command.GlobalId, hive = from.Hive, now = clock.GetUtcNow() });
            if (fresh is null) return Outcome.Done; // a redelivery: taken in (or held) the first time

            if (envelope.Seq is not { } seq)
            {
                await TakeInAsync(change, command, envelope, cancellationToken);
                return Outcome.Done;
            }
            var next = NextSeq(change, from.Hive);
            if (seq > next)
            {
                // Ahead of a gap (the broker or a republish reordered the pair): kept, durably, for its turn.
                change.Execute("""
                    INSERT INTO constellation_held (global_id, from_hive, seq, user_id, routing_key, body, held_at)
                    VALUES (@GlobalId, @hive, @seq, @UserId, @RoutingKey, @body, @now)
                    """, new
                {
                    command.GlobalId, hive = from.Hive, seq, command.UserId, command.RoutingKey,
                    body = Encoding.UTF8.GetString(command.Body), now = clock.GetUtcNow()
                });
                logger.LogInformation("constellation inbox: {Id} from hive {Hive} is number {Seq}, {Next} is not here yet; held for its turn",
                    command.GlobalId, from.Hive, seq, next);
                return Outcome.Done;
            }
            if (seq < next)
                logger.LogWarning("constellation inbox: {Id} from hive {Hive} is number {Seq}, given up on earlier; taken in late",
                    command.GlobalId, from.Hive, seq);
            await TakeInAsync(change, command, envelope, cancellationToken);
            if (seq == next) await TakeInHeldAsync(change, from.Hive, seq + 1, through: 0, cancellationToken);
            return Outcome.Done;
        }

        public async Task<int> Handle(ReleaseOverdue request, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            // Per pair, the highest number held past the window: everything held up to it goes in, gaps and all, once the
            // sender has said the gap left its outbox, or it has been held the longest the hive holds anything.
            var overdue = change.Query<(string FromHive, long Through, DateTimeOffset Oldest)>(
                "SELECT from_hive, max(seq), min(held_at) FROM constellation_held WHERE held_at <= @cutoff GROUP BY from_hive",
                new { cutoff = now - TimeSpan.FromSeconds(options.ReorderWindowSeconds) });
            var released = 0;
            foreach (var (hive, through, oldest) in overdue)
            {
                var next = NextSeq(change, hive);
                var first = change.QuerySingle<Held>("""
                    SELECT global_id, from_hive, seq, user_id, routing_key, body FROM constellation_held
                    WHERE from_hive = @hive ORDER BY seq LIMIT 1
                    """, new { hive });
                var missing = first.Seq - 1;
                if (request.QueueSettled && GapLeftTheOutbox(change, hive, first, missing))
                    logger.LogWarning("constellation inbox: mail from hive {Hive} numbered {Next} to {Missing} has not come within {Window} s, that hive says it has left its outbox, and this hive's queue holds nothing more; taking in what was held after it",
                        hive, next, missing, options.ReorderWindowSeconds);
                else if (now - oldest >= TimeSpan.FromSeconds(options.ReorderHoldMaxSeconds))
                    logger.LogWarning("constellation inbox: mail from hive {Hive} numbered {Next} to {Missing} has not come within {HoldMax} s, the longest this hive holds mail; taking in what was held after it",
                        hive, next, missing, options.ReorderHoldMaxSeconds);
                else
                    continue; // still on its way (in the sender's outbox, or the sender not heard since): held on
                await TakeInHeldAsync(change, hive, next, through, cancellationToken);
                released++;
            }
            return released;
        }

        /// <summary>
        /// Whether the sender's latest heartbeat says every number up to <paramref name="missing"/> has left its outbox. The
        /// beat counts only if it was taken after the first held mail was numbered (it numbers that far, or was sent after
        /// it): an older one may not know of the gap yet.
        /// </summary>
        private bool GapLeftTheOutbox(StateChange change, string hive, Held first, long missing)
        {
            var json = change.QuerySingleOrDefault<string>("SELECT beat FROM constellation_hives WHERE name = @hive", new { hive });
            if (json is null || Heartbeat.Parse(Encoding.UTF8.GetBytes(json)) is not { Outbound: { } outbound } beat) return false;
            var pair = outbound.GetValueOrDefault(options.Name!) ?? new OutboundMail(0, null);
            var knowsOfIt = pair.Assigned >= first.Seq || beat.SentAt > MailEnvelope.Parse(Encoding.UTF8.GetBytes(first.Body))!.SentAt;
            return knowsOfIt && (pair.Unsent is null || pair.Unsent > missing);
        }

        /// <summary>A pair never heard from expects 1: senders number each destination's mail from 1.</summary>
        private static long NextSeq(StateChange change, string hive) =>
            change.QuerySingleOrDefault<long?>("SELECT next_seq FROM constellation_inbound_sequences WHERE from_hive = @hive", new { hive }) ?? 1;

        /// <summary>
        /// Takes in the pair's held mail in order: all of it numbered up to <paramref name="through"/> (a gap given up on),
        /// then each that is next; and records the number expected after it.
        /// </summary>
        private async Task TakeInHeldAsync(StateChange change, string hive, long next, long through, CancellationToken cancellationToken)
        {
            while (change.QuerySingleOrDefault<Held>("""
                       SELECT global_id, from_hive, seq, user_id, routing_key, body FROM constellation_held
                       WHERE from_hive = @hive AND seq <= max(@through, @next) ORDER BY seq, global_id LIMIT 1
                       """, new { hive, through, next }) is { } held)
            {
                change.Execute("DELETE FROM constellation_held WHERE global_id = @GlobalId", new { held.GlobalId });
                var body = Encoding.UTF8.GetBytes(held.Body);
                await TakeInAsync(change, new Command(held.GlobalId, held.UserId, held.RoutingKey, body), MailEnvelope.Parse(body)!, cancellationToken);
                next = Math.Max(next, held.Seq + 1);
            }
            change.Execute("""
                INSERT INTO constellation_inbound_sequences (from_hive, next_seq) VALUES (@hive, @next)
                ON CONFLICT (from_hive) DO UPDATE SET next_seq = excluded.next_seq
                """, new { hive, next });
        }

        /// <summary>What a checked, fresh delivery brings, in its turn.</summary>
        private async Task TakeInAsync(StateChange change, Command command, MailEnvelope envelope, CancellationToken cancellationToken)
        {
            var own = options.Name!;
            var from = HiveAddresses.Parse(envelope.From)!.Value;
            var to = HiveAddresses.Parse(envelope.To)!.Value;
            var globalId = command.GlobalId!;
            var known = to.Agent == AgentNames.Operator || agents.IsAgent(to.Agent);
            // Another hive's word is a claim: every limit a local send meets is checked again here.
            if (ArrivalChecks.OverLimit(envelope, globalId) is { } limit)
            {
                logger.LogWarning("constellation inbox: {Id} from hive {Hive} breaks a limit ({Limit}); not taken in", globalId, from.Hive, limit);
                if (envelope.Kind == MailEnvelope.Message)
                    Bounce(change, from.Hive, envelope, globalId, $"hive {own} refused your message to {envelope.To}: {limit}");
                else
                    DeadLetter(change, command, $"refused: {limit}"); // a notice is never answered (no loops)
                return;
            }
            if (envelope.Kind == MailEnvelope.Undeliverable && ArrivalChecks.Unsolicited(change, own, from.Hive, envelope) is { } why)
            {
                logger.LogWarning("constellation inbox: ignored an undeliverable notice {Id} from hive {Hive}: {Why}", globalId, from.Hive, why);
                DeadLetter(change, command, $"refused: {why}");
                return;
            }
            switch (envelope.Kind)
            {
                // The recipient's allowed_recipients apply to what it receives from other hives too (the operator has none).
                case MailEnvelope.Message when known && !recipients.MayReach(to.Agent, envelope.From):
                    logger.LogWarning("constellation inbox: {To} does not take mail from {From} (allowed_recipients); {Id} not delivered",
                        to.Agent, envelope.From, globalId);
                    Bounce(change, from.Hive, envelope, globalId, $"{to.Agent} on hive {own} does not take mail from {envelope.From}: your message to {envelope.To} was not delivered");
                    break;
                case MailEnvelope.Message when known:
                    await DeliverAsync(change, globalId, envelope.From, to.Agent, MessageKinds.Message, envelope.Body,
                        new Dictionary<string, object?> { ["remote_id"] = globalId }, cancellationToken);
                    break;
                case MailEnvelope.Message:
                    // As locally, an unknown recipient is an error the sender hears of: a notice back through the outbox.
                    Bounce(change, from.Hive, envelope, globalId, $"no agent named {to.Agent} on hive {own}: your message to {envelope.To} was not delivered");
                    break;
                case MailEnvelope.Undeliverable when known:
                    await DeliverAsync(change, globalId, envelope.From, to.Agent, MessageKinds.Undeliverable, envelope.Body,
                        new Dictionary<string, object?> { ["remote_id"] = envelope.About, ["recipient"] = envelope.Recipient }, cancellationToken);
                    break;
                default:
                    // A notice for an agent gone since, or a kind this hive does not know: kept, never bounced (no loops).
                    DeadLetter(change, command, known ? $"unknown kind {envelope.Kind}" : $"no agent named {to.Agent} for a {envelope.Kind}");
                    break;
            }
        }

        private void Bounce(StateChange change, string fromHive, MailEnvelope envelope, string globalId, string reason) =>
            QueueOutgoingMail.Add(change, signal, fromHive, new MailEnvelope(MailEnvelope.Undeliverable, $"{AgentNames.Hive}@{options.Name}", envelope.From,
                reason, clock.GetUtcNow(), About: globalId, Recipient: envelope.To), null, clock.GetUtcNow());

        private async Task DeliverAsync(StateChange change, string globalId, string from, string to, string kind, string body,
            IReadOnlyDictionary<string, object?> extra, CancellationToken cancellationToken)
        {
            var stored = await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(from, to, kind, body, extra)]), cancellationToken);
            change.Execute("UPDATE constellation_inbox SET message_id = @Id WHERE global_id = @globalId", new { stored[0].Id, globalId });
        }

        private void DeadLetter(StateChange change, Command command, string reason) =>
            ArrivalChecks.DeadLetter(change, command.GlobalId, command.UserId, command.RoutingKey, command.Body, reason, clock.GetUtcNow());
    }
}
