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
/// </summary>
public static class ReceiveFromHive
{
    public enum Outcome
    {
        /// <summary>Taken in, a copy already taken in, or kept as a dead letter: acknowledge it.</summary>
        Done,
        /// <summary>Published under another hive's name: reject it (no requeue); a dead letter records it.</summary>
        Refused,
    }

    /// <param name="UserId">The AMQP <c>user-id</c>: RabbitMQ has checked it names the publishing connection's user.</param>
    /// <param name="RoutingKey">The hive it was routed to (this one).</param>
    public sealed record Command(string? GlobalId, string? UserId, string RoutingKey, byte[] Body) : IRequest<Outcome>, IChangesState;

    internal sealed class Handler(
        StateChanges changes, ConstellationOptions options, IAgentDirectory agents, IMediator mediator, OutboxSignal signal,
        TimeProvider clock, ILogger<Handler> logger)
        : IRequestHandler<Command, Outcome>
    {
        public async Task<Outcome> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var own = options.Name!;
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
            if (fresh is null) return Outcome.Done; // a redelivery: taken in the first time

            var known = to.Agent == AgentNames.Operator || agents.IsAgent(to.Agent);
            switch (envelope.Kind)
            {
                case MailEnvelope.Message when known:
                    await DeliverAsync(change, command.GlobalId, envelope.From, to.Agent, MessageKinds.Message, envelope.Body,
                        new Dictionary<string, object?> { ["remote_id"] = command.GlobalId }, cancellationToken);
                    break;
                case MailEnvelope.Message:
                    // As locally, an unknown recipient is an error the sender hears of: a notice back through the outbox.
                    QueueOutgoingMail.Add(change, signal, from.Hive, new MailEnvelope(MailEnvelope.Undeliverable, $"{AgentNames.Hive}@{own}", envelope.From,
                        $"no agent named {to.Agent} on hive {own}: your message to {envelope.To} was not delivered", clock.GetUtcNow(),
                        About: command.GlobalId, Recipient: envelope.To), null, clock.GetUtcNow());
                    break;
                case MailEnvelope.Undeliverable when known:
                    await DeliverAsync(change, command.GlobalId, envelope.From, to.Agent, MessageKinds.Undeliverable, envelope.Body,
                        new Dictionary<string, object?> { ["remote_id"] = envelope.About, ["recipient"] = envelope.Recipient }, cancellationToken);
                    break;
                default:
                    // A notice for an agent gone since, or a kind this hive does not know: kept, never bounced (no loops).
                    DeadLetter(change, command, known ? $"unknown kind {envelope.Kind}" : $"no agent named {to.Agent} for a {envelope.Kind}");
                    break;
            }
            return Outcome.Done;
        }

        private async Task DeliverAsync(StateChange change, string globalId, string from, string to, string kind, string body,
            IReadOnlyDictionary<string, object?> extra, CancellationToken cancellationToken)
        {
            var stored = await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(from, to, kind, body, extra)]), cancellationToken);
            change.Execute("UPDATE constellation_inbox SET message_id = @Id WHERE global_id = @globalId", new { stored[0].Id, globalId });
        }

        private void DeadLetter(StateChange change, Command command, string reason) =>
            change.Execute("""
                INSERT INTO constellation_dead_letters (global_id, user_id, routing_key, reason, body, received_at)
                VALUES (@GlobalId, @UserId, @RoutingKey, @reason, @body, @now)
                """, new { command.GlobalId, command.UserId, command.RoutingKey, reason,
                    body = Encoding.UTF8.GetString(command.Body, 0, Math.Min(command.Body.Length, 64 * 1024)), now = clock.GetUtcNow() });
    }
}
