using Dapper;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Hive.Features.Constellation;

/// <summary>
/// Consumes this hive's queue with manual acks and a bounded prefetch, one delivery at a time (the client's dispatcher
/// runs one handler at once), so mail from one hive lands in the order it was published. Each delivery is taken in by
/// <see cref="ReceiveFromHive"/> in one change, then acknowledged; a crash before the ack redelivers it, and the inbox
/// key makes that a no-op. Beside it, a small loop takes in mail held past the reorder window (a gap that will not fill),
/// telling it whether this hive's queue could still hold the gap's mail.
/// </summary>
internal sealed class InboxConsumer(
    ConstellationOptions options, BrokerLink broker, IServiceScopeFactory scopes, IDb db, TimeProvider clock, ILogger<InboxConsumer> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ConsumeAsync(stoppingToken), ReleaseOverdueAsync(stoppingToken));

    private Task ConsumeAsync(CancellationToken stoppingToken) =>
        broker.StayConnectedAsync("inbox", null, async (channel, closed) =>
        {
            await channel.BasicQosAsync(prefetchSize: 0, prefetchCount: options.Prefetch, global: false, stoppingToken);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) => TakeInAsync(channel, delivery, closed, stoppingToken);
            await channel.BasicConsumeAsync(broker.Queue, autoAck: false, consumer, stoppingToken);
            await closed.Task.WaitAsync(stoppingToken);
        }, logger, "mail for this hive waits on its queue", stoppingToken);

    /// <summary>
    /// Looks a few times per window (at most every second) for held mail past it; the look is a plain read, so the change
    /// (and the snapshot gate it enters) is only run when there is something to take in.
    /// </summary>
    private async Task ReleaseOverdueAsync(CancellationToken stoppingToken)
    {
        var window = TimeSpan.FromSeconds(options.ReorderWindowSeconds);
        var look = TimeSpan.FromTicks(Math.Min(window.Ticks / 4, TimeSpan.TicksPerSecond));
        while (true)
        {
            try
            {
                await Task.Delay(look, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                using (var connection = db.Open())
                    if (!await connection.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM constellation_held WHERE held_at <= @cutoff)",
                            new { cutoff = clock.GetUtcNow() - window }))
                        continue;
                // Only a queue with nothing ready and no consumer but this hive's own cannot still hold a gap's mail.
                var queue = await broker.OwnQueueAsync(stoppingToken);
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<IMediator>().Send(
                    new ReceiveFromHive.ReleaseOverdue(QueueSettled: queue is { Ready: 0, Consumers: <= 1 }), CancellationToken.None);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database failing: the held mail stays held, and the next look tries again.
                logger.LogError(e, "constellation inbox: could not take in mail held past the reorder window");
            }
        }
    }

    private async Task TakeInAsync(IChannel channel, BasicDeliverEventArgs delivery, TaskCompletionSource failed, CancellationToken stoppingToken)
    {
        ReceiveFromHive.Outcome outcome;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
            outcome = await mediator.Send(new ReceiveFromHive.Command(
                delivery.BasicProperties.MessageId, delivery.BasicProperties.UserId, delivery.RoutingKey, delivery.Body.ToArray()), CancellationToken.None);
        }
        catch (Exception e)
        {
            // Not taken in (the database failing): left unacknowledged, it comes back when this connection closes; end it
            // so the reconnect (after a backoff) retries it rather than spinning on it now.
            logger.LogError(e, "constellation inbox: could not take in message {Id}; it stays on the queue", delivery.BasicProperties.MessageId);
            failed.TrySetResult();
            return;
        }
        if (outcome == ReceiveFromHive.Outcome.Refused)
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: false, stoppingToken);
        else
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, stoppingToken);
    }
}
