using System.Text;
using Dapper;
using Hive.Shared.Data;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Hive.Features.Constellation;

/// <summary>
/// Publishes the outbox in id order on one channel with publisher confirms; a row is marked sent only after the broker
/// confirmed it (so a crash between the two publishes it again: the receiving inbox drops the copy by its global id).
/// Broker down: rows wait, and the relay reconnects with backoff, then drains them in order.
/// </summary>
internal sealed class OutboxRelay(
    ConstellationOptions options, BrokerLink broker, OutboxSignal signal, IDb db, TimeProvider clock, ILogger<OutboxRelay> logger)
    : BackgroundService
{
    private const int Batch = 100;
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250), MaxBackoff = TimeSpan.FromSeconds(5);
    // A look now and then even without a poke: a row committed by another process's hive (never) or a missed wake is cheap to catch.
    private static readonly TimeSpan IdleLook = TimeSpan.FromSeconds(30);

    private sealed record OutboxRow(long Id, string Destination, string Kind, string Payload);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        var down = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await broker.ConnectAsync("relay", stoppingToken);
                var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                connection.ConnectionShutdownAsync += (_, _) => { closed.TrySetResult(); return Task.CompletedTask; };
                await using var channel = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), stoppingToken);
                await broker.DeclareAsync(channel, stoppingToken);
                if (down) logger.LogInformation("constellation relay: connected to the broker again; draining the outbox");
                down = false;
                backoff = FirstBackoff;
                await DrainAsync(channel, closed.Task, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Logged once per outage, not at every retry; the rows stay in the outbox meanwhile.
                if (!down) logger.LogWarning("constellation relay: the broker is unreachable ({Error}); outgoing mail waits in the outbox", e.Message);
                down = true;
                try
                {
                    await Task.Delay(backoff, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private async Task DrainAsync(IChannel channel, Task closed, CancellationToken stoppingToken)
    {
        while (true)
        {
            var poked = signal.Next; // before the look: a row committed after it pokes this one
            var rows = await UnsentAsync(stoppingToken);
            foreach (var row in rows)
            {
                var properties = new BasicProperties
                {
                    MessageId = $"{options.Name}:{row.Id}",
                    UserId = broker.User, // RabbitMQ checks it against the connection's user: the receiver can trust it
                    DeliveryMode = DeliveryModes.Persistent,
                    ContentType = "application/json",
                    Type = row.Kind,
                };
                // Returns once confirmed; throws on a nack or a lost connection, and the row stays unsent.
                await channel.BasicPublishAsync(options.Exchange, row.Destination, mandatory: false, properties, Encoding.UTF8.GetBytes(row.Payload), stoppingToken);
                await MarkSentAsync(row.Id, stoppingToken);
            }
            if (rows.Count == Batch) continue;
            await Task.WhenAny(poked, closed, Task.Delay(IdleLook, clock, stoppingToken));
            stoppingToken.ThrowIfCancellationRequested();
            if (closed.IsCompleted) throw new IOException("the broker closed the connection");
        }
    }

    private async Task<List<OutboxRow>> UnsentAsync(CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        return (await connection.QueryAsync<OutboxRow>(new CommandDefinition(
            "SELECT id, destination, kind, payload FROM constellation_outbox WHERE sent_at IS NULL ORDER BY id LIMIT @Batch",
            new { Batch }, cancellationToken: cancellationToken))).AsList();
    }

    // The relay's own bookkeeping, not a change: nothing on the dashboard shows sent_at, so no event and no gate.
    private async Task MarkSentAsync(long id, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE constellation_outbox SET sent_at = @now WHERE id = @id", new { id, now = clock.GetUtcNow() }, cancellationToken: cancellationToken));
    }
}
