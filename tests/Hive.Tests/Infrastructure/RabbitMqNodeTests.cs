using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Xunit.Abstractions;

namespace Hive.Tests.Infrastructure;

/// <summary>
/// The RabbitMQ fixture the constellation's tests stand on: a real broker started as a child process, a
/// quorum queue that keeps a confirmed message across a SIGKILL of the broker, and nothing of the node nor its epmd left
/// running after it is disposed.
/// </summary>
public sealed class RabbitMqNodeTests(ITestOutputHelper output)
{
    private const string Vhost = "/hive";
    private const string Queue = "hive.inbox";

    [Fact]
    public async Task Keeps_a_confirmed_message_in_a_quorum_queue_across_a_broker_SIGKILL_and_leaves_no_process_behind()
    {
        var node = await RabbitMqNode.StartAsync();
        List<int> pids;
        int epmdPid;
        try
        {
            output.WriteLine($"{node.NodeName}: amqp {node.AmqpPort}, dist {node.DistPort}, epmd {node.EpmdPort} (pid {node.EpmdPid}); " +
                $"started in {node.LastStartDuration.TotalMilliseconds:F0} ms");
            // Loopback only (epmd adds ::1 to the address it is given).
            foreach (var port in new[] { node.AmqpPort, node.DistPort, node.EpmdPort })
            {
                var addresses = ListeningAddresses(port);
                Assert.NotEmpty(addresses);
                Assert.All(addresses, address => Assert.True(IPAddress.IsLoopback(address), $"port {port} listens on {address}"));
            }
            Assert.Empty(ListeningAddresses(5672));
            Assert.Contains("RabbitMQ version: 3.10", await node.RunCtlAsync("status"), StringComparison.Ordinal);

            await node.AddUserAsync("hive-a", "secret-a", Vhost);
            var factory = new ConnectionFactory
            {
                HostName = "127.0.0.1",
                Port = node.AmqpPort,
                UserName = "hive-a",
                Password = "secret-a",
                VirtualHost = Vhost,
                AutomaticRecoveryEnabled = false,
            };

            var first = await factory.CreateConnectionAsync();
            try
            {
                // With tracking on, BasicPublishAsync returns once the broker has confirmed (for a quorum queue: once the
                // Raft log holds it on disk) and throws on a nack.
                var channel = await first.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
                await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false,
                    arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
                foreach (var body in new[] { "m1", "m2", "m3" }) await PublishAsync(channel, body);

                await channel.BasicQosAsync(prefetchSize: 0, prefetchCount: 1, global: false);
                var deliveries = await ConsumeAsync(channel);
                var m1 = await NextAsync(deliveries);
                Assert.Equal(("m1", false), (m1.Body, m1.Redelivered));
                await channel.BasicAckAsync(m1.Tag, multiple: false);
                // m2 comes next and is left unacknowledged; m3 waits behind the prefetch of 1.
                var m2 = await NextAsync(deliveries);
                Assert.Equal("m2", m2.Body);
                // The ack is applied (so on disk: a single-member quorum queue applies only what its log has fsynced)
                // once the queue counts 1 ready and 1 unacknowledged.
                await UntilAsync(async () => (await QueueCountsAsync(node)) == "1 1", "the queue to count m3 ready and m2 unacknowledged");

                var before = node.ProcessGroup!.Value;
                await node.KillAsync();
                Assert.Null(node.ProcessGroup);
                Assert.Empty(ProcessTable.GroupMembers(before));
            }
            finally
            {
                await CloseQuietlyAsync(first);
            }

            await node.RestartAsync();
            output.WriteLine($"restarted after SIGKILL in {node.LastStartDuration.TotalMilliseconds:F0} ms");

            await using var second = await factory.CreateConnectionAsync();
            var again = await second.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
            // The recovered queue hands m2 back once it sees its consumer's channel died with the old broker.
            await UntilAsync(async () => (await QueueCountsAsync(node)) == "2 0", "the restarted queue to count m2 and m3 ready");
            var redelivered = await ConsumeAsync(again);
            var back = await NextAsync(redelivered);
            await again.BasicAckAsync(back.Tag, multiple: false);
            var next = await NextAsync(redelivered);
            await again.BasicAckAsync(next.Tag, multiple: false);
            // The unacknowledged m2 comes back first (flagged), then m3; the acknowledged m1 never does.
            Assert.Equal([("m2", true), ("m3", false)], [(back.Body, back.Redelivered), (next.Body, next.Redelivered)]);
            await UntilAsync(async () => (await QueueCountsAsync(node)) == "0 0", "the queue to be empty");
            Assert.False(redelivered.TryRead(out var extra), $"an extra delivery: {extra?.Body}");
            await again.CloseAsync();
        }
        finally
        {
            pids = node.Pids.ToList();
            epmdPid = node.EpmdPid ?? 0;
            var clock = Stopwatch.StartNew();
            await node.DisposeAsync();
            output.WriteLine($"stopped in {clock.ElapsedMilliseconds} ms; pids seen: {string.Join(' ', pids.Order())}");
        }

        Assert.Contains(epmdPid, pids);
        Assert.True(pids.Count >= 5, $"pids seen: {string.Join(' ', pids)}"); // epmd, two lives of the script, beam.smp and erl_child_setup
        Assert.All(pids, pid => Assert.False(ProcessTable.IsAlive(pid), $"pid {pid} ({ProcessTable.CommandLine(pid)}) is still running"));
        Assert.Empty(ProcessTable.Find("beam.smp", node.NodeName));
        Assert.Empty(ProcessTable.Find("epmd", $"-port{'\0'}{node.EpmdPort}"));
        Assert.Empty(ListeningAddresses(node.EpmdPort));
        Assert.Empty(ListeningAddresses(node.AmqpPort));
        Assert.False(Directory.Exists(node.Directory));
    }

    [Fact]
    public async Task Restarts_with_a_clean_stop_keeping_users_and_queues_and_disposes_a_killed_node_completely()
    {
        var node = await RabbitMqNode.StartAsync();
        List<int> pids;
        try
        {
            // A user who may use only its own queues (hive.b.*) on the default vhost, publishing through the default exchange.
            await node.AddUserAsync("hive-b", "secret-b", "/", configure: "^hive\\.b\\..*", write: "^(hive\\.b\\..*|amq\\.default)$", read: "^hive\\.b\\..*");
            var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = node.AmqpPort, UserName = "hive-b", Password = "secret-b" };
            await using (var connection = await factory.CreateConnectionAsync())
            {
                var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
                await channel.QueueDeclareAsync("hive.b.inbox", durable: true, exclusive: false, autoDelete: false,
                    arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
                await channel.BasicPublishAsync("", "hive.b.inbox", mandatory: true, new BasicProperties { DeliveryMode = DeliveryModes.Persistent },
                    Encoding.UTF8.GetBytes("kept"));
                await channel.CloseAsync();
            }

            var group = node.ProcessGroup!.Value;
            await node.RestartAsync(); // rabbitmqctl stop, then a new life on the same data
            Assert.NotEqual(group, node.ProcessGroup);
            Assert.Empty(ProcessTable.GroupMembers(group));
            output.WriteLine($"restarted after a clean stop in {node.LastStartDuration.TotalMilliseconds:F0} ms");

            await using (var connection = await factory.CreateConnectionAsync())
            {
                var channel = await connection.CreateChannelAsync();
                var got = await channel.BasicGetAsync("hive.b.inbox", autoAck: true);
                Assert.Equal("kept", got is null ? null : Encoding.UTF8.GetString(got.Body.Span));
                // Outside its permissions: refused by the broker (the channel closes with 403).
                var refused = await Assert.ThrowsAnyAsync<RabbitMQ.Client.Exceptions.OperationInterruptedException>(() =>
                    channel.QueueDeclareAsync("hive.a.inbox", durable: true, exclusive: false, autoDelete: false));
                Assert.Equal<ushort?>(403, refused.ShutdownReason?.ReplyCode);
            }

            await node.KillAsync();
            Assert.Null(node.ProcessGroup);
        }
        finally
        {
            pids = node.Pids.ToList();
            await node.DisposeAsync(); // with the broker down: epmd, watchdog and dir still go
        }
        Assert.All(pids, pid => Assert.False(ProcessTable.IsAlive(pid), $"pid {pid} ({ProcessTable.CommandLine(pid)}) is still running"));
        Assert.Empty(ListeningAddresses(node.EpmdPort));
        Assert.False(Directory.Exists(node.Directory));
    }

    private static async Task PublishAsync(IChannel channel, string body)
    {
        var properties = new BasicProperties { DeliveryMode = DeliveryModes.Persistent, MessageId = body };
        await channel.BasicPublishAsync(exchange: "", routingKey: Queue, mandatory: true, basicProperties: properties, body: Encoding.UTF8.GetBytes(body));
    }

    private sealed record Delivery(string Body, ulong Tag, bool Redelivered);

    private static async Task<ChannelReader<Delivery>> ConsumeAsync(IChannel channel)
    {
        var deliveries = System.Threading.Channels.Channel.CreateUnbounded<Delivery>();
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, e) =>
        {
            // The body's memory is the client's own only until the handler returns.
            deliveries.Writer.TryWrite(new Delivery(Encoding.UTF8.GetString(e.Body.Span), e.DeliveryTag, e.Redelivered));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(Queue, autoAck: false, consumer);
        return deliveries.Reader;
    }

    private static async Task<Delivery> NextAsync(ChannelReader<Delivery> deliveries)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        return await deliveries.ReadAsync(timeout.Token);
    }

    /// <summary>"ready unacknowledged" of the queue, as the broker counts them.</summary>
    private static async Task<string> QueueCountsAsync(RabbitMqNode node)
    {
        var line = await node.RunCtlAsync("list_queues", "-p", Vhost, "--no-table-headers", "--quiet", "name", "messages_ready", "messages_unacknowledged");
        var fields = line.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Single(f => f[0] == Queue);
        return $"{fields[1].Trim()} {fields[2].Trim()}";
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }

    private static async Task CloseQuietlyAsync(IConnection connection)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            // abort: the broker is gone, so no close-ok will come and errors are ignored.
            await connection.CloseAsync(200, "bye", TimeSpan.FromSeconds(2), abort: true, timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or RabbitMQ.Client.Exceptions.AlreadyClosedException) { }
        try { await connection.DisposeAsync(); } catch (Exception e) when (e is IOException or ObjectDisposedException) { }
    }

    /// <summary>The local addresses with a TCP listener on <paramref name="port"/> (from /proc/net/tcp and tcp6).</summary>
    private static List<IPAddress> ListeningAddresses(int port)
    {
        var found = new List<IPAddress>();
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(file)) continue;
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var (local, state) = (fields[1], fields[3]);
                if (state != "0A" || int.Parse(local[(local.IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) != port) continue;
                var hex = local[..local.IndexOf(':')];
                // Each 32-bit word of the address in the machine's byte order.
                var bytes = Enumerable.Range(0, hex.Length / 8)
                    .SelectMany(i => BitConverter.GetBytes(uint.Parse(hex.AsSpan(i * 8, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture)))
                    .ToArray();
                found.Add(new IPAddress(bytes));
            }
        }
        return found;
    }
}
