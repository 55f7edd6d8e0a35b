using Hive.Shared.Agents;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Hive.Features.Constellation;

/// <summary>
/// On a connection of its own: every <c>HeartbeatSeconds</c> this hive publishes its heartbeat to the fanout exchange,
/// and it hears every hive's (its own included) on its heartbeat queue, each taken in by <see cref="HearHeartbeat"/>.
/// A beat is worth nothing late, so the queue drops beats older than a minute and keeps at most a few thousand.
/// </summary>
internal sealed class HeartbeatLoop(
    ConstellationOptions options, BrokerLink broker, ConstellationState state, IServiceScopeFactory scopes, TimeProvider clock, ILogger<HeartbeatLoop> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        broker.StayConnectedAsync("heartbeat", null, async (channel, closed) =>
        {
            var queue = Heartbeat.QueueOf(options.Name!);
            await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-message-ttl"] = 60_000, ["x-max-length"] = 5_000 }, cancellationToken: stoppingToken);
            await channel.QueueBindAsync(queue, Heartbeat.Exchange, "", cancellationToken: stoppingToken);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) => HearAsync(delivery);
            await channel.BasicConsumeAsync(queue, autoAck: true, consumer, stoppingToken);

            var interval = TimeSpan.FromSeconds(options.HeartbeatSeconds);
            while (!closed.Task.IsCompleted)
            {
                state.InboxLag = (await channel.QueueDeclarePassiveAsync(broker.Queue, stoppingToken)).MessageCount;
                var beat = await BeatAsync(stoppingToken);
                var properties = new BasicProperties
                {
                    UserId = broker.User, // checked by RabbitMQ against the connection: the hearer can trust whose beat it is
                    ContentType = "application/json",
                    Type = "heartbeat",
                    Expiration = ((long)Math.Ceiling(3 * interval.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
                await channel.BasicPublishAsync(Heartbeat.Exchange, "", mandatory: false, properties, beat.ToJson(), stoppingToken);
                await Task.WhenAny(closed.Task, Task.Delay(interval, clock, stoppingToken));
                stoppingToken.ThrowIfCancellationRequested();
            }
        }, logger, "this hive is not heard and hears no one", stoppingToken);

    private async Task<Heartbeat> BeatAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var status = await state.StatusAsync(cancellationToken);
        var outbound = await state.OutboundAsync(Heartbeat.MaxOutbound, cancellationToken);
        var missing = await state.MissingAsync(Heartbeat.MaxOutbound, cancellationToken);
        await using var scope = scopes.CreateAsyncScope();
        var states = await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new CountAgentsByState(), cancellationToken);
        return new Heartbeat(options.Name!, ConstellationState.PublicUrlOf(options), options.HeartbeatSeconds, now, states.Values.Sum(),
            states, status.OutboxDepth, status.OldestUnsentAt, status.InboxLag, status.DeadLetters, outbound, missing);
    }

    private async Task HearAsync(BasicDeliverEventArgs delivery)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<IMediator>().Send(
                new HearHeartbeat.Command(delivery.BasicProperties.UserId, delivery.Body.ToArray()), CancellationToken.None);
        }
        catch (Exception e)
        {
            // A beat missed is a beat: the next comes within the interval.
            logger.LogWarning(e, "constellation heartbeat: could not take in a beat from user {User}", delivery.BasicProperties.UserId);
        }
    }
}
