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
internal sealed class InboxConsumer(ConstellationOptions options, BrokerLink broker, IServiceScopeFactory scopes, TimeProvider clock, ILogger<InboxConsumer> logger)
    : BackgroundService
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250), MaxBackoff = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        var down = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await broker.ConnectAsync("inbox", stoppingToken);
                var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                connection.ConnectionShutdownAsync += (_, _) => { closed.TrySetResult(); return Task.CompletedTask; };
                await using var channel = await connection.CreateChannelAsync(cancellationToken: stoppingToken);
                await broker.DeclareAsync(channel, stoppingToken);
                await channel.BasicQosAsync(prefetchSize: 0, prefetchCount: options.Prefetch, global: false, stoppingToken);
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += (_, delivery) => TakeInAsync(channel, delivery, closed, stoppingToken);
                await channel.BasicConsumeAsync(broker.Queue, autoAck: false, consumer, stoppingToken);
                if (down) logger.LogInformation("constellation inbox: connected to the broker again");
                down = false;
                backoff = FirstBackoff;
                await closed.Task.WaitAsync(stoppingToken);
                throw new IOException("the broker closed the connection");
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (!down) logger.LogWarning("constellation inbox: the broker is unreachable ({Error}); reconnecting", e.Message);
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
