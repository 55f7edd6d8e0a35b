using System.Runtime.ExceptionServices;
using System.Text;
using Dapper;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Constellation;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Hive.Features.Constellation;

/// <summary>
/// Publishes the outbox in id order on one channel with publisher confirms, a window of rows at a time: the window is
/// published at once and its confirms awaited together (one confirm round trip per window, not per row). A row is marked
/// sent only after the broker confirmed it (so a crash between the two publishes it again: the receiving inbox drops the
/// copy by its global id). Broker down: rows wait, and the relay reconnects with backoff, then drains them in order. A
/// row the broker returns (no queue bound for its hive) is undeliverable only if that hive was never heard from.
/// </summary>
internal sealed class OutboxRelay(
    ConstellationOptions options, BrokerLink broker, MailOutboxSignal signal, IDb db, TimeProvider clock, StateChanges changes,
    IServiceScopeFactory scopes, IAgentDirectory agents, ILogger<OutboxRelay> logger)
    : BackgroundService
{
    // A look now and then even without a poke: a row committed by another process's hive (never) or a missed wake is cheap to catch.
    private static readonly TimeSpan IdleLook = TimeSpan.FromSeconds(30);

    private sealed record OutboxRow(long Id, string Destination, string Kind, string Payload, long? MessageId);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        broker.StayConnectedAsync("relay", new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            (channel, closed) => DrainAsync(channel, closed.Task, stoppingToken), logger, "outgoing mail waits in the outbox", stoppingToken);

    private async Task DrainAsync(IChannel channel, Task closed, CancellationToken stoppingToken)
    {
        while (true)
        {
            var poked = signal.Take(); // before the look: a row committed after it wakes this one
            var rows = await UnsentAsync(stoppingToken);
            // The whole window in flight, published in id order; each task completes on its own row's confirm.
            var confirms = rows.Select(row => (row, confirmed: PublishAsync(channel, row, stoppingToken))).ToList();
            var sent = new List<long>();
            var bounced = new List<OutboxRow>();
            Exception? failure = null;
            foreach (var (row, confirmed) in confirms)
            {
                try
                {
                    await confirmed;
                    sent.Add(row.Id);
                }
                catch (PublishException e) when (e.IsReturn)
                {
                    bounced.Add(row);
                }
                catch (Exception e)
                {
                    // A nack or a lost connection: this row stays unsent, and the window's other confirms still count.
                    failure ??= e;
                }
            }
            await MarkSentAsync(sent);
            var heardFrom = bounced.Count == 0 ? [] : await HeardFromAsync(bounced.Select(row => row.Destination).Distinct().ToList(), stoppingToken);
            foreach (var row in bounced)
            {
                // Returned for a hive this one has heard from: its queue exists but is not taking mail now (a broker
                // restarting it, a quorum queue between leaders). Not a bounce: the row waits, like a nack, and goes again.
                if (heardFrom.Contains(row.Destination))
                    failure ??= new IOException($"the broker returned mail for hive {row.Destination}, which is heard from: its queue takes no mail now");
                else
                    await BounceAsync(row, stoppingToken);
            }
            // Start over on a new connection: the unsent rows go again, in order (a reordering they cause, the receiver repairs).
            if (failure is not null) ExceptionDispatchInfo.Throw(failure);
            if (rows.Count == options.PublishWindow) continue;
            await Task.WhenAny(poked, closed, Task.Delay(IdleLook, clock, stoppingToken));
            stoppingToken.ThrowIfCancellationRequested();
            if (closed.IsCompleted) throw new IOException("the broker closed the connection");
        }
    }

    /// <summary>
    /// Completes when the broker confirms the row; throws on a nack, a lost connection, or a return (mandatory: a hive no
    /// queue is bound for, a name no hive has). Async so that even a failure to start publishing is the task's, not the caller's.
    /// </summary>
    private async Task PublishAsync(IChannel channel, OutboxRow row, CancellationToken stoppingToken)
    {
        var properties = new BasicProperties
        {
            MessageId = $"{options.Name}:{row.Id}",
            UserId = broker.User, // RabbitMQ checks it against the connection's user: the receiver can trust it
            DeliveryMode = DeliveryModes.Persistent,
            ContentType = "application/json",
            Type = row.Kind,
        };
        await channel.BasicPublishAsync(options.Exchange, row.Destination, mandatory: true, properties, Encoding.UTF8.GetBytes(row.Payload), stoppingToken);
    }

    private async Task<List<OutboxRow>> UnsentAsync(CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        return (await connection.QueryAsync<OutboxRow>(new CommandDefinition(
            "SELECT id, destination, kind, payload, message_id FROM constellation_outbox WHERE sent_at IS NULL ORDER BY id LIMIT @PublishWindow",
            new { options.PublishWindow }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>Which of <paramref name="hives"/> this hive has heard a heartbeat from, in one look for a window's returns.</summary>
    private async Task<HashSet<string>> HeardFromAsync(List<string> hives, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT name FROM constellation_hives WHERE name IN @hives", new { hives }, cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// No hive of that name has a queue (none was ever heard from): the row is done, and its local sender gets an undeliverable notice, as for a
    /// local unknown name, in one change. A returned notice is only logged (a notice never answers a notice).
    /// </summary>
    private async Task BounceAsync(OutboxRow row, CancellationToken cancellationToken)
    {
        var envelope = MailEnvelope.Parse(Encoding.UTF8.GetBytes(row.Payload))!;
        logger.LogWarning("constellation relay: no hive named {Hive} has a queue; {Kind} {Id} to {To} is not delivered",
            row.Destination, row.Kind, $"{options.Name}:{row.Id}", envelope.To);
        var sender = HiveAddresses.Parse(envelope.From)?.Agent;
        await changes.RunAsync(scopes, async (change, services) =>
        {
            change.Execute("UPDATE constellation_outbox SET sent_at = @now WHERE id = @Id", new { row.Id, now = clock.GetUtcNow() });
            if (row.Kind != MailEnvelope.Message || sender is null || !(sender == AgentNames.Operator || agents.IsAgent(sender))) return;
            await services.GetRequiredService<IMediator>().Send(new AppendMessages.Command([new AppendMessages.Draft(
                AgentNames.Hive, sender, MessageKinds.Undeliverable,
                $"no hive named {row.Destination} in the constellation: your message to {envelope.To} was not delivered",
                new Dictionary<string, object?> { ["message_id"] = row.MessageId, ["recipient"] = envelope.To })]), CancellationToken.None);
        }, cancellationToken);
    }

    // The relay's own bookkeeping, not a change: nothing on the dashboard shows sent_at, so no event and no gate. One
    // statement per window, and not cancelled by a stop: these rows are confirmed, and marking them saves republishing them.
    private async Task MarkSentAsync(List<long> ids)
    {
        if (ids.Count == 0) return;
        using var connection = db.Open();
        await connection.ExecuteAsync("UPDATE constellation_outbox SET sent_at = @now WHERE id IN @ids", new { ids, now = clock.GetUtcNow() });
    }
}
