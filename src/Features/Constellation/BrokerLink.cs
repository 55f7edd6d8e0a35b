using RabbitMQ.Client;

namespace Hive.Features.Constellation;

/// <summary>How this hive reaches the broker, and the topology it relies on (declared idempotently at every connect).</summary>
internal sealed class BrokerLink(ConstellationOptions options, BrokerCredentials credentials)
{
    public string User => credentials.User;
    public string Queue => options.Name!;

    /// <summary>No automatic recovery: the relay and the inbox each reconnect themselves, with backoff, and start over.</summary>
    public Task<IConnection> ConnectAsync(string purpose, CancellationToken cancellationToken) =>
        new ConnectionFactory
        {
            HostName = options.Broker.Host!,
            Port = options.Broker.Port,
            VirtualHost = options.Broker.VirtualHost,
            UserName = credentials.User,
            Password = credentials.Password,
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
            ClientProvidedName = $"hive {options.Name} {purpose}",
        }.CreateConnectionAsync(cancellationToken);

    /// <summary>The durable direct exchange, and this hive's durable quorum queue bound to it under its own name.</summary>
    public async Task DeclareAsync(IChannel channel, CancellationToken cancellationToken)
    {
        await channel.ExchangeDeclareAsync(options.Exchange, ExchangeType.Direct, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(Queue, options.Exchange, Queue, cancellationToken: cancellationToken);
    }
}
