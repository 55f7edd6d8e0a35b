using System.Data;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// Figures for cross-hive mail: one real RabbitMQ node (<see cref="RabbitMqNode"/>) and three hive processes
/// (<see cref="HostProcess"/>: <c>a</c>, <c>b</c>, <c>c</c>) on loopback, each with its own RabbitMQ user restricted as
/// in the tests (<c>^(hive\.mail|hive\.heartbeats|&lt;h&gt;|&lt;h&gt;\.heartbeats)$</c>) and its credentials in a 0600 file.
/// Only the agents' socket protocol and the broker are used, so the bench measures whatever relay and inbox the build has.
/// <list type="number">
/// <item>Latency: alice@a → bob@b (cross-hive) and carol@b → bob@b (local, the baseline), interleaved sample by sample, one
/// at a time: bob's <c>recv wait_ms</c> is written and left 5 ms to park, then the clock runs from just before the
/// <c>send</c> is written until bob's recv reply is read. A 10 ms pause between samples (a modest rate).</item>
/// <item>Throughput: <c>--senders</c> agents (alternately on a and c) each send <c>--messages</c> to their own agent on b,
/// one send at a time per connection, all at once; each receiver takes its messages with <c>recv</c> (acknowledging the
/// previous one in the same request) and checks they come in its sender's order. Printed: acknowledged sends/s and
/// messages/s received end to end (from the first send to the last receipt).</item>
/// <item>SIGKILL: alice@a streams 3 × <c>--messages</c> to dave@b back to back (one send in flight), so the relay has a
/// backlog and the inbox deliveries in hand when, after a third are acknowledged, the broker is SIGKILLed (<see cref="RabbitMqNode.KillAsync"/>) and restarted on the same data dir while the stream goes on. Then
/// every acknowledged send must arrive exactly once: lost, duplicated (the same sequence number under two local ids) and
/// redelivered (the same local message handed out again, flagged) are counted.</item>
/// </list>
/// Every process started (broker, its epmd, the hives) is stopped in a <c>finally</c>, or on Ctrl-C / SIGTERM; the temp
/// dirs are removed.
/// The exit code is non-zero when a message was lost, duplicated or out of order.
/// </summary>
internal sealed class ConstellationBench : IBenchMode
{
    public string Name => "constellation";
    public string Summary => "cross-hive mail over a real RabbitMQ, 3 hives: send->recv p50/p99 (vs local), throughput at 16 senders, loss across a broker SIGKILL";

    private const double LatencyGoalMs = 20;
    private const int Warmup = 20;
    private const int WaitMs = 5_000;
    private static readonly string[] Hives = ["a", "b", "c"];

    public async Task<int> RunAsync(BenchOptions options)
    {
        if (!RabbitMqNode.IsInstalled)
        {
            Console.Error.WriteLine($"constellation: RabbitMQ is not installed ({RabbitMqNode.ServerScript}); apt-get install rabbitmq-server");
            return 2;
        }
        var samples = options.Messages ?? 300;
        var senders = options.Senders;
        var perSender = options.Messages ?? 300;
        var stream = 3 * (options.Messages ?? 300);
        var root = TempRoot("constellation");
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        PrintHeader("Hive constellation benchmark (issue 33): cross-hive mail over RabbitMQ", root);
        Console.WriteLine($"1 RabbitMQ node + 3 hive processes (a, b, c) on loopback; {samples} latency samples per path, " +
                          $"{senders} senders × {perSender} messages, a {stream}-message stream across a broker SIGKILL");

        var hosts = new Dictionary<string, HostProcess>();
        RabbitMqNode? node = null;
        // Stops what was started, once: from the finally, or from Ctrl-C / SIGTERM (the handler waits for it, then the
        // process ends without running the finally). A broker still starting is left to RabbitMqNode's watchdog, which
        // kills it when this process dies.
        Task? cleanup = null;
        Task CleanUpAsync()
        {
            lock (hosts) return cleanup ??= StopAllAsync(); // the same task for the finally and a signal: both wait for it
        }
        async Task StopAllAsync()
        {
            HostProcess[] started;
            lock (hosts) started = [.. hosts.Values];
            foreach (var host in started) await host.DisposeAsync();
            if (Volatile.Read(ref node) is { } broker) await broker.DisposeAsync();
            RemoveOrKeep(root, options.Keep);
        }
        void OnSignal(PosixSignalContext _) => CleanUpAsync().GetAwaiter().GetResult();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        var failures = 0;
        var total = Stopwatch.StartNew();
        try
        {
            var clock = Stopwatch.StartNew();
            var rabbit = await RabbitMqNode.StartAsync();
            Volatile.Write(ref node, rabbit);
            Console.WriteLine($"broker up in {Stats.F(clock.Elapsed.TotalSeconds, 1)} s ({RabbitMqVersion()})");
            var throughputSenders = Enumerable.Range(0, senders).Select(i => (Name: $"t{i}", Hive: i % 2 == 0 ? "a" : "c", Receiver: $"r{i}")).ToList();
            var agents = new Dictionary<string, List<string>>
            {
                ["a"] = ["alice", .. throughputSenders.Where(s => s.Hive == "a").Select(s => s.Name)],
                ["b"] = ["bob", "carol", "dave", .. throughputSenders.Select(s => s.Receiver)],
                ["c"] = ["cleo", .. throughputSenders.Where(s => s.Hive == "c").Select(s => s.Name)],
            };
            clock.Restart();
            foreach (var hive in Hives)
            {
                var permissions = $@"^(hive\.mail|hive\.heartbeats|{hive}|{hive}\.heartbeats)$";
                await rabbit.AddUserAsync(hive, Password(hive), "/", configure: permissions, write: permissions, read: permissions);
            }
            // One at a time: three .NET starts at once on two cores only make each slower.
            foreach (var hive in Hives)
            {
                var host = await HostProcess.StartAsync(Path.Combine(root, hive), [.. agents[hive]], extraArgs: ArgsFor(root, hive, rabbit.AmqpPort));
                lock (hosts)
                    if (cleanup is null)
                    {
                        hosts[hive] = host;
                        host = null;
                    }
                if (host is not null)
                {
                    await host.DisposeAsync(); // a signal came while it started: the clean-up has already run
                    throw new OperationCanceledException("stopped by a signal");
                }
            }
            await UntilAsync(async () => (await rabbit.RunCtlAsync("list_queues", "-q", "name")).Split('\n').Select(l => l.Trim()).Intersect(Hives).Count() == 3,
                "the three hives to declare their queues", 60);
            Console.WriteLine($"hives up and their queues declared in {Stats.F(clock.Elapsed.TotalSeconds, 1)} s");
            Console.WriteLine(await QueueTypesAsync(rabbit));

            // 0. The broker alone: the floor under the relay and the inbox.
            await BrokerFloorAsync(rabbit, samples);

            // 1. Latency.
            await using (var alice = await hosts["a"].ConnectAsync("alice"))
            await using (var carol = await hosts["b"].ConnectAsync("carol"))
            await using (var bob = await hosts["b"].ConnectAsync("bob"))
            {
                var cross = new List<double>();
                var local = new List<double>();
                var crossIds = new List<long>();
                for (var i = 0; i < Warmup + samples; i++)
                {
                    // Interleaved, order alternating: both paths see the same machine.
                    foreach (var crossFirst in i % 2 == 0 ? new[] { true, false } : [false, true])
                    {
                        var (ms, id) = await SendToParkedAsync(crossFirst ? alice : carol, crossFirst ? "bob@b" : "bob", bob, $"lat {i} {crossFirst}");
                        if (i >= Warmup) (crossFirst ? cross : local).Add(ms);
                        if (i >= Warmup && crossFirst) crossIds.Add(id);
                        await Task.Delay(10);
                    }
                }
                var crossLatency = Latency.Of(cross);
                var localLatency = Latency.Of(local);
                Console.WriteLine();
                Console.WriteLine("(1) send -> recv, bob@b parked in recv wait_ms, one message at a time:");
                Console.WriteLine($"    cross-hive alice@a -> bob@b: {crossLatency}   goal p99 < {LatencyGoalMs} ms: {Verdict(crossLatency.P99, LatencyGoalMs)}");
                Console.WriteLine($"    local      carol@b -> bob@b: {localLatency}");
                Console.WriteLine($"    cross / local: p50 × {Stats.F(crossLatency.P50 / localLatency.P50, 1)}   p99 × {Stats.F(crossLatency.P99 / localLatency.P99, 1)}");
                Diagnose("the hives' stamps", () => PrintStages(hosts, crossIds));
            }

            // 2. Throughput.
            failures += await ThroughputAsync(hosts, throughputSenders, perSender);

            // 3. Loss across a broker SIGKILL.
            failures += await KillAsync(rabbit, hosts, stream);

            Console.WriteLine();
            Console.WriteLine($"total {Stats.F(total.Elapsed.TotalSeconds, 1)} s; load average at end: {LoadAverage()}");
            if (failures > 0) Console.WriteLine($"FAILED: {failures} check(s) did not hold (see above)");
            return failures > 0 ? 1 : 0;
        }
        catch (Exception)
        {
            foreach (var (hive, host) in hosts) Console.Error.WriteLine($"--- hive {hive} (tail):\n{Tail(host.Output, 30)}");
            if (node is not null) Console.Error.WriteLine($"--- broker:\n{Tail(node.Output, 20)}");
            throw;
        }
        finally
        {
            await CleanUpAsync();
        }
    }

    /// <summary>
    /// The broker's own floor, without a hive: from this process (RabbitMQ.Client, a user of its own with every right, only
    /// for this), one persistent message at a time to a durable quorum queue of its own through the default exchange, with
    /// publisher confirms (as the relay publishes), and a consumer with manual acks on a second connection (as the inbox
    /// consumes). Publish → confirmed, and publish → delivered to the consumer. The queue is deleted afterwards.
    /// </summary>
    private static async Task BrokerFloorAsync(RabbitMqNode node, int samples)
    {
        const string queue = "bench.floor";
        await node.AddUserAsync("bench", "bench-floor-secret");
        var factory = new ConnectionFactory
        {
            HostName = "127.0.0.1", Port = node.AmqpPort, UserName = "bench", Password = "bench-floor-secret", AutomaticRecoveryEnabled = false,
        };
        await using var publishing = await factory.CreateConnectionAsync();
        await using var consuming = await factory.CreateConnectionAsync();
        await using var publisher = await publishing.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await using var subscriber = await consuming.CreateChannelAsync();
        await publisher.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
        var arrival = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(subscriber);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            Volatile.Read(ref arrival).TrySetResult(Stopwatch.GetTimestamp());
            await subscriber.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        };
        await subscriber.BasicQosAsync(0, 32, global: false);
        await subscriber.BasicConsumeAsync(queue, autoAck: false, consumer);
        var confirmed = new List<double>();
        var delivered = new List<double>();
        var properties = new BasicProperties { DeliveryMode = DeliveryModes.Persistent, ContentType = "application/json" };
        var body = Encoding.UTF8.GetBytes("""{"kind":"message","from":"alice@a","to":"bob@b","body":"floor"}""");
        for (var i = 0; i < Warmup + samples; i++)
        {
            Volatile.Write(ref arrival, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
            var next = Volatile.Read(ref arrival);
            var started = Stopwatch.GetTimestamp();
            await publisher.BasicPublishAsync("", queue, mandatory: true, properties, body); // returns once confirmed
            var confirm = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var at = await next.Task.WaitAsync(TimeSpan.FromSeconds(30));
            if (i >= Warmup)
            {
                confirmed.Add(confirm);
                delivered.Add(Stats.Ms(at - started));
            }
            await Task.Delay(10);
        }
        await publisher.QueueDeleteAsync(queue);
        Console.WriteLine();
        Console.WriteLine("(0) the broker alone (RabbitMQ.Client in this process, a durable quorum queue, persistent, one message at a time):");
        Console.WriteLine($"    publish -> confirmed:              {Latency.Of(confirmed)}");
        Console.WriteLine($"    publish -> delivered to a consumer: {Latency.Of(delivered)}");
    }

    /// <summary>Parks a recv on <paramref name="receiver"/>, then times one send until that recv returns it; acknowledges it.</summary>
    private static async Task<(double Ms, long Id)> SendToParkedAsync(AgentClient sender, string to, AgentClient receiver, string body)
    {
        await receiver.WriteRawAsync(Line(new { op = "recv", wait_ms = 30_000 }));
        await Task.Delay(5); // let the recv find the inbox empty and park on its long-poll
        var send = Line(new { op = "send", to, body });
        var started = Stopwatch.GetTimestamp();
        await sender.WriteRawAsync(send);
        var reply = await receiver.ReadReplyAsync();
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var sent = AgentClient.Ok(await sender.ReadReplyAsync()).GetProperty("id").GetInt64();
        var message = AgentClient.Ok(reply).GetProperty("message");
        if (message.ValueKind != JsonValueKind.Object || message.GetProperty("body").GetString() != body)
            throw new InvalidOperationException($"expected '{body}', got {reply}");
        await receiver.AckAsync(message.GetProperty("id").GetInt64());
        return (ms, sent);
    }

    /// <summary>
    /// Where the cross-hive samples spent their time, from the hives' own stamps (one machine, one clock): the outbox row's
    /// <c>created_at</c> (in the send's transaction) → its <c>sent_at</c> (stamped after the broker's confirm), and → b's
    /// inbox row's <c>received_at</c> (stamped in the change that takes it in, before its commit).
    /// </summary>
    private static void PrintStages(Dictionary<string, HostProcess> hosts, List<long> sendIds)
    {
        var outbox = HiveInstance.QueryDbList<(long Id, long MessageId, string CreatedAt, string SentAt)>(hosts["a"].DataDir,
            "SELECT id, message_id, created_at, sent_at FROM constellation_outbox WHERE message_id IN @sendIds", new { sendIds });
        var inbox = HiveInstance.QueryDbList<(string GlobalId, string ReceivedAt)>(hosts["b"].DataDir,
                "SELECT global_id, received_at FROM constellation_inbox WHERE from_hive = 'a'")
            .ToDictionary(r => r.GlobalId, r => Stamp(r.ReceivedAt));
        var confirmed = outbox.Select(r => (Stamp(r.SentAt) - Stamp(r.CreatedAt)).TotalMilliseconds).ToList();
        var takenIn = outbox.Where(r => inbox.ContainsKey($"a:{r.Id}")).Select(r => (inbox[$"a:{r.Id}"] - Stamp(r.CreatedAt)).TotalMilliseconds).ToList();
        Console.WriteLine($"    stamps: a's outbox created_at -> sent_at (relay picked it up, published, confirmed): {Latency.Of(confirmed)}");
        Console.WriteLine($"            a's outbox created_at -> b's inbox received_at (routed, delivered, taken in):  {Latency.Of(takenIn)}");
    }

    private static DateTimeOffset Stamp(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static async Task<int> ThroughputAsync(Dictionary<string, HostProcess> hosts, List<(string Name, string Hive, string Receiver)> senders, int perSender)
    {
        var clients = new List<(AgentClient Sender, AgentClient Receiver)>();
        foreach (var s in senders) clients.Add((await hosts[s.Hive].ConnectAsync(s.Name), await hosts["b"].ConnectAsync(s.Receiver)));
        try
        {
            var before = new Dictionary<string, long>();
            string? inboxBefore = null;
            Diagnose("the outbox and inbox before the case", () =>
            {
                foreach (var hive in new[] { "a", "c" })
                    before[hive] = HiveInstance.QueryDbList<long>(hosts[hive].DataDir, "SELECT coalesce(max(id), 0) FROM constellation_outbox").Single();
                inboxBefore = HiveInstance.QueryDbList<string>(hosts["b"].DataDir, "SELECT max(received_at) FROM constellation_inbox").Single();
            });
            var started = Stopwatch.GetTimestamp();
            var receivers = clients.Select(c => Task.Run(() => ReceiveInOrderAsync(c.Receiver, perSender))).ToList();
            var sends = clients.Select((c, i) => Task.Run(async () =>
            {
                for (var seq = 0; seq < perSender; seq++) await c.Sender.SendAsync($"{senders[i].Receiver}@b", seq.ToString(CultureInfo.InvariantCulture));
                return Stopwatch.GetElapsedTime(started);
            })).ToList();
            var sent = (await Task.WhenAll(sends)).Max();
            var results = await Task.WhenAll(receivers);
            var received = results.Max(r => r.Last);
            var count = senders.Count * perSender;
            var got = results.Sum(r => r.Received);
            var outOfOrder = results.Sum(r => r.OutOfOrder);
            var duplicates = results.Sum(r => r.Duplicates);
            Console.WriteLine();
            Console.WriteLine($"(2) throughput: {senders.Count} senders ({senders.Count(s => s.Hive == "a")} on a, {senders.Count(s => s.Hive == "c")} on c), " +
                              $"each to its own agent on b, {perSender} messages each, one send in flight per sender:");
            Console.WriteLine($"    sends acknowledged: {count} in {Stats.F(sent.TotalSeconds, 2)} s = {Stats.N(count / sent.TotalSeconds)} sends/s");
            Console.WriteLine($"    received on b end to end: {got}/{count} in {Stats.F((received - TimeSpan.Zero).TotalSeconds, 2)} s = " +
                              $"{Stats.N(got / received.TotalSeconds)} messages/s (the last arrived {Stats.F((received - sent).TotalSeconds, 2)} s after the last send was acknowledged)");
            // The hives' stamps: when each relay had everything confirmed, and when b took the last in (from the first outbox row).
            Diagnose("the relays' and the inbox's stamps", () =>
            {
                var spans = new Dictionary<string, (DateTimeOffset First, DateTimeOffset LastSent, long Rows)>();
                foreach (var hive in new[] { "a", "c" })
                {
                    var (first, last, rows) = HiveInstance.QueryDbList<(string, string, long)>(hosts[hive].DataDir,
                        "SELECT min(created_at), max(sent_at), count(*) FROM constellation_outbox WHERE id > @after", new { after = before[hive] }).Single();
                    spans[hive] = (Stamp(first), Stamp(last), rows);
                }
                var origin = spans.Values.Min(v => v.First);
                var (firstIn, lastIn, taken) = HiveInstance.QueryDbList<(string, string, long)>(hosts["b"].DataDir,
                    "SELECT min(received_at), max(received_at), count(*) FROM constellation_inbox WHERE received_at > @inboxBefore", new { inboxBefore }).Single();
                foreach (var (hive, span) in spans)
                    Console.WriteLine($"    relay {hive}: {span.Rows} rows published and confirmed by +{Stats.F((span.LastSent - origin).TotalSeconds, 2)} s " +
                                      $"= {Stats.N(span.Rows / (span.LastSent - span.First).TotalSeconds)} rows/s");
                Console.WriteLine($"    inbox b: {taken} taken in from +{Stats.F((Stamp(firstIn) - origin).TotalSeconds, 2)} s to +{Stats.F((Stamp(lastIn) - origin).TotalSeconds, 2)} s " +
                                  $"= {Stats.N(taken / (Stamp(lastIn) - Stamp(firstIn)).TotalSeconds)} deliveries/s");
            });
            Console.WriteLine($"    per-sender order kept: {(outOfOrder == 0 ? "yes" : $"NO ({outOfOrder} out of order)")}; duplicates: {duplicates}; missing: {count - got + duplicates}");
            return (got - duplicates == count ? 0 : 1) + (outOfOrder == 0 ? 0 : 1) + (duplicates == 0 ? 0 : 1);
        }
        finally
        {
            foreach (var (sender, receiver) in clients)
            {
                await sender.DisposeAsync();
                await receiver.DisposeAsync();
            }
        }
    }

    /// <summary>Receives until <paramref name="expected"/> messages came (or none for <see cref="WaitMs"/> twice running); bodies are sequence numbers.</summary>
    private static async Task<(int Received, int OutOfOrder, int Duplicates, TimeSpan Last)> ReceiveInOrderAsync(AgentClient receiver, int expected)
    {
        var started = Stopwatch.GetTimestamp();
        var last = TimeSpan.Zero;
        var seen = new HashSet<int>();
        int received = 0, outOfOrder = 0, duplicates = 0, next = 0, idle = 0;
        long? ack = null;
        while (received < expected && idle < 2)
        {
            var message = await RecvAsync(receiver, ack);
            if (message is not { } m)
            {
                ack = null;
                idle++;
                continue;
            }
            idle = 0;
            last = Stopwatch.GetElapsedTime(started);
            ack = m.GetProperty("id").GetInt64();
            var seq = int.Parse(m.GetProperty("body").GetString()!, CultureInfo.InvariantCulture);
            received++;
            if (!seen.Add(seq)) duplicates++;
            else if (seq != next) outOfOrder++;
            next = seq + 1;
        }
        if (ack is { } id) await receiver.AckAsync(id);
        return (received, outOfOrder, duplicates, last);
    }

    private static async Task<int> KillAsync(RabbitMqNode node, Dictionary<string, HostProcess> hosts, int count)
    {
        await using var alice = await hosts["a"].ConnectAsync("alice");
        await using var dave = await hosts["b"].ConnectAsync("dave");
        var acknowledged = new List<int>();
        // seq -> the local ids it arrived under, and how many hand-outs were flagged redelivered.
        var arrivals = new Dictionary<int, HashSet<long>>();
        var redelivered = 0;
        var sendingDone = new TaskCompletionSource();
        var ackedCount = 0;
        var clock = Stopwatch.StartNew();
        var arrivedAt = new List<TimeSpan>(); // each new sequence number's arrival
        var receiving = Task.Run(async () =>
        {
            long? ack = null;
            var idleAfterDone = 0;
            while (true)
            {
                // Once the stream has ended and everything acknowledged is in, one more short look for a straggler (a late copy).
                var complete = sendingDone.Task.IsCompleted && arrivals.Count >= Volatile.Read(ref ackedCount);
                var message = await RecvAsync(dave, ack, complete ? 2_000 : WaitMs);
                ack = null;
                if (message is not { } m)
                {
                    if (complete || (sendingDone.Task.IsCompleted && ++idleAfterDone >= 6)) return; // 6: 30 s with nothing after the stream ended
                    continue;
                }
                idleAfterDone = 0;
                var id = m.GetProperty("id").GetInt64();
                ack = id;
                var seq = int.Parse(m.GetProperty("body").GetString()!.Split(' ')[1], CultureInfo.InvariantCulture);
                if (m.TryGetProperty("redelivered", out var r) && r.ValueKind == JsonValueKind.True) redelivered++;
                if (!arrivals.TryGetValue(seq, out var ids))
                {
                    arrivals[seq] = ids = [];
                    arrivedAt.Add(clock.Elapsed);
                }
                ids.Add(id);
            }
        });

        var killAt = count / 3;
        Task? outage = null;
        TimeSpan killedAt = default, restartedAt = default;
        long backlogAtKill = 0;
        for (var seq = 0; seq < count; seq++)
        {
            await alice.SendAsync("dave@b", $"k {seq}");
            acknowledged.Add(seq);
            Volatile.Write(ref ackedCount, acknowledged.Count);
            if (seq + 1 == killAt)
                outage = Task.Run(async () =>
                {
                    killedAt = clock.Elapsed;
                    await node.KillAsync();
                    Diagnose("a's outbox at the kill", () =>
                        backlogAtKill = HiveInstance.QueryDbList<long>(hosts["a"].DataDir, "SELECT count(*) FROM constellation_outbox WHERE sent_at IS NULL").Single());
                    await node.RestartAsync();
                    restartedAt = clock.Elapsed;
                });
        }
        var streamEnded = clock.Elapsed;
        await outage!;
        sendingDone.SetResult();
        await receiving;
        var allIn = clock.Elapsed;

        var firstAfter = arrivedAt.Where(t => t > restartedAt).DefaultIfEmpty(TimeSpan.Zero).Min();
        var lastBefore = arrivedAt.Where(t => t < killedAt).DefaultIfEmpty(TimeSpan.Zero).Max();
        var lost = acknowledged.Count(seq => !arrivals.ContainsKey(seq));
        var duplicates = arrivals.Values.Sum(ids => ids.Count - 1);
        Console.WriteLine();
        Console.WriteLine($"(3) broker SIGKILL mid-stream: alice@a -> dave@b, {count} sends back to back (so the relay and the inbox are busy at the kill); SIGKILL after {killAt} acknowledged " +
                          $"(at {Stats.F(killedAt.TotalSeconds, 2)} s; a's outbox then held {backlogAtKill} unconfirmed rows), broker back at {Stats.F(restartedAt.TotalSeconds, 2)} s " +
                          $"(start {Stats.F(node.LastStartDuration.TotalSeconds, 1)} s), stream ended at {Stats.F(streamEnded.TotalSeconds, 2)} s, " +
                          $"receiver done at {Stats.F(allIn.TotalSeconds, 2)} s");
        Console.WriteLine($"    mail stopped: last arrival before the kill at {Stats.F(lastBefore.TotalSeconds, 2)} s ({arrivedAt.Count(t => t < killedAt)} in), " +
                          $"first after the restart at {Stats.F(firstAfter.TotalSeconds, 2)} s ({Stats.F((firstAfter - restartedAt).TotalSeconds, 2)} s after the broker " +
                          "answered: the hives' reconnect backoff, 250 ms doubling to 5 s)");
        Console.WriteLine($"    acknowledged {acknowledged.Count}, received {arrivals.Count} distinct; lost: {lost} (must be 0); " +
                          $"duplicates (one send under two local ids): {duplicates} (must be 0); hand-outs flagged redelivered: {redelivered}");
        Diagnose("b's inbox and a's outbox", () =>
            Console.WriteLine($"    b's inbox keys from a: {HiveInstance.QueryDbList<long>(hosts["b"].DataDir, "SELECT count(*) FROM constellation_inbox WHERE global_id LIKE 'a:%'").Single()}; " +
                              $"a's outbox rows unsent: {HiveInstance.QueryDbList<long>(hosts["a"].DataDir, "SELECT count(*) FROM constellation_outbox WHERE sent_at IS NULL").Single()}"));
        return (lost == 0 ? 0 : 1) + (duplicates == 0 ? 0 : 1);
    }

    /// <summary>
    /// Reads the hives' own tables (stamps and counts that explain the figures; not the agents' protocol, which is all the
    /// checks rely on): a schema change in the product costs this reading, never the run.
    /// </summary>
    private static void Diagnose(string what, Action read)
    {
        try
        {
            read();
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or FormatException or ArgumentException
                                      or KeyNotFoundException or DataException)
        {
            Console.WriteLine($"    ({what}: not readable from the hives' databases: {e.GetType().Name}: {e.Message})");
        }
    }

    /// <summary><c>recv</c> acknowledging <paramref name="ack"/> in the same request: the message, or null after <paramref name="waitMs"/>.</summary>
    private static async Task<JsonElement?> RecvAsync(AgentClient client, long? ack, int waitMs = WaitMs)
    {
        var reply = AgentClient.Ok(ack is { } id
            ? await client.CallAsync(new { op = "recv", wait_ms = waitMs, ack = id })
            : await client.CallAsync(new { op = "recv", wait_ms = waitMs }));
        var message = reply.GetProperty("message");
        return message.ValueKind == JsonValueKind.Null ? null : message;
    }

    private static byte[] Line(object request) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request) + "\n");

    private static string Password(string hive) => "bench-secret-" + hive;

    private static string[] ArgsFor(string root, string hive, int amqpPort)
    {
        var credentials = Path.Combine(root, hive + ".credentials");
        using (var file = new FileStream(credentials, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
            file.Write(Encoding.UTF8.GetBytes($"{hive}:{Password(hive)}\n"));
        return
        [
            "--Hive:Constellation:Name", hive,
            "--Hive:Constellation:Broker:Host", "127.0.0.1",
            "--Hive:Constellation:Broker:Port", amqpPort.ToString(CultureInfo.InvariantCulture),
            "--Hive:Constellation:CredentialsFile", credentials,
            "--Logging:LogLevel:Microsoft.AspNetCore", "Error",
        ];
    }

    private static async Task<string> QueueTypesAsync(RabbitMqNode node)
    {
        var lines = (await node.RunCtlAsync("list_queues", "-q", "--no-table-headers", "name", "type", "durable")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return "queues (name type durable): " + string.Join("; ", lines.Select(l => l.Replace('\t', ' ')));
    }

    private static string RabbitMqVersion()
    {
        try
        {
            var app = Directory.GetFiles("/usr/lib/rabbitmq/lib", "rabbitmq_server-*").Concat(Directory.GetDirectories("/usr/lib/rabbitmq/lib", "rabbitmq_server-*"));
            return "RabbitMQ " + Path.GetFileName(app.First())["rabbitmq_server-".Length..];
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            return "RabbitMQ version unknown";
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"waited {seconds} s for {what}");
            await Task.Delay(100);
        }
    }

    private static string Tail(string text, int lines)
    {
        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }
}
