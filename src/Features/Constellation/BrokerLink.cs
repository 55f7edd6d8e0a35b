using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Hive.Features.Constellation;

/// <summary>How this hive reaches the broker, and the topology it relies on (declared idempotently at every connect).</summary>
internal sealed class BrokerLink(ConstellationOptions options, BrokerCredentials credentials, TimeProvider clock)
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250), MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DeclareTimeout = TimeSpan.FromSeconds(30);

    // Per purpose (relay, inbox, heartbeat): since when it has been without the broker; absent or null: connected.
    private readonly ConcurrentDictionary<string, DateTimeOffset?> _downSince = new(StringComparer.Ordinal);

    public string User => credentials.User;
    public string Queue => options.Name!;

    /// <summary>Each connection's state for the operator: purpose → null (connected) or since when it has been down.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset?> Links => _downSince;

    /// <summary>
    /// A connection to the first node that answers, in the configured order (<see cref="BrokerOptions.Nodes"/>). No
    /// automatic recovery: the relay, the inbox and the heartbeat each reconnect themselves, with backoff, and start over.
    /// </summary>
    public Task<IConnection> ConnectAsync(string purpose, CancellationToken cancellationToken) =>
        new ConnectionFactory
        {
            VirtualHost = options.Broker.VirtualHost,
            UserName = credentials.User,
            Password = credentials.Password,
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        }.CreateConnectionAsync(
            new InOrder(options.Broker.Nodes().Select(node => new AmqpTcpEndpoint(node.Host, node.Port, BrokerTls.For(options.Broker, node.Host))).ToList()),
            $"hive {options.Name} {purpose}", cancellationToken);

    /// <summary>
    /// What this hive's queue holds now (ready messages, consumers), on a connection of its own; null when the broker
    /// cannot be asked. Ready mail, or a consumer besides this hive's own (one left by a connection the broker has not yet
    /// found dead, holding the mail it was given), may be a gap's mail still on its way.
    /// </summary>
    public async Task<(uint Ready, uint Consumers)?> OwnQueueAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            patience.CancelAfter(DeclareTimeout);
            await using var connection = await ConnectAsync("queue check", patience.Token);
            await using var channel = await connection.CreateChannelAsync(cancellationToken: patience.Token);
            var queue = await channel.QueueDeclarePassiveAsync(Queue, patience.Token);
            return (queue.MessageCount, queue.ConsumerCount);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The nodes as configured, not shuffled (the client's default): the first is the one normally used.</summary>
    private sealed class InOrder(IReadOnlyList<AmqpTcpEndpoint> endpoints) : IEndpointResolver
    {
        public IEnumerable<AmqpTcpEndpoint> All() => endpoints;
    }

    /// <summary>
    /// The topology, on a channel of its own: the durable topic exchange for mail (routing key = the destination hive; a
    /// topic exchange because RabbitMQ's topic permissions can then let a hive bind only its own name), the fanout exchange
    /// for heartbeats, and this hive's durable quorum queue bound to the mail exchange under its own name.
    /// </summary>
    private async Task DeclareAsync(IConnection connection, CancellationToken stoppingToken)
    {
        // A broker that accepts the connection but never answers a declare (a quorum queue left without a leader, seen on
        // RabbitMQ 3.10 after a crash) is an outage like any other: give up after a while and reconnect, logged once.
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        patience.CancelAfter(DeclareTimeout);
        var cancellationToken = patience.Token;
        await DeclareExchangeAsync(connection, options.Exchange, ExchangeType.Topic, cancellationToken);
        await DeclareExchangeAsync(connection, Heartbeat.Exchange, ExchangeType.Fanout, cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(Queue, options.Exchange, Queue, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Declares an exchange; where the broker's admin declared it and left this hive's user no configure right on it (so no
    /// hive can delete what every hive needs), it only has to exist: a passive declare checks that.
    /// </summary>
    private static async Task DeclareExchangeAsync(IConnection connection, string name, string type, CancellationToken cancellationToken)
    {
        try
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            await channel.ExchangeDeclareAsync(name, type, durable: true, autoDelete: false, cancellationToken: cancellationToken);
            return;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.AccessRefused)
        {
        }
        await using var passive = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await passive.ExchangeDeclarePassiveAsync(name, cancellationToken);
    }

    /// <summary>
    /// Keeps a connection and a channel up for <paramref name="session"/> (the relay's or the inbox's) until the host
    /// stops: connect, declare the topology, run the session with the channel and a signal completed when the connection
    /// closes (the session may complete it too, to start over). However the session ends, that is an outage: logged once
    /// (<paramref name="whileDown"/>), not at every retry, and retried after a backoff doubling from 250 ms to 5 s.
    /// </summary>
    public async Task StayConnectedAsync(string purpose, CreateChannelOptions? channelOptions, Func<IChannel, TaskCompletionSource, Task> session,
        ILogger logger, string whileDown, CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        var down = false;
        _downSince[purpose] = clock.GetUtcNow(); // until the first connect
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await ConnectAsync(purpose, stoppingToken);
                var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                connection.ConnectionShutdownAsync += (_, _) => { closed.TrySetResult(); return Task.CompletedTask; };
                await DeclareAsync(connection, stoppingToken);
                await using var channel = await connection.CreateChannelAsync(channelOptions, stoppingToken);
                if (down) logger.LogInformation("constellation {Purpose}: connected to the broker again", purpose);
                down = false;
                _downSince[purpose] = null;
                backoff = FirstBackoff;
                await session(channel, closed);
                throw new IOException("the broker closed the connection");
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (!down) logger.LogWarning("constellation {Purpose}: the broker is unreachable ({Error}); {WhileDown}", purpose, e.Message, whileDown);
                if (_downSince.GetValueOrDefault(purpose) is null) _downSince[purpose] = clock.GetUtcNow();
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
}
