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
/// key makes that a no-op.
/// </summary>
internal sealed class InboxConsumer(ConstellationOptions options, BrokerLink broker, IServiceScopeFactory scopes, ILogger<InboxConsumer> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        broker.StayConnectedAsync("inbox", null, async (channel, closed) =>
        {
            await channel.BasicQosAsync(prefetchSize: 0, prefetchCount: options.Prefetch, global: false, stoppingToken);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) => TakeInAsync(channel, delivery, closed, stoppingToken);
            await channel.BasicConsumeAsync(broker.Queue, autoAck: false, consumer, stoppingToken);
            await closed.Task.WaitAsync(stoppingToken);
        }, logger, "mail for this hive waits on its queue", stoppingToken);

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
