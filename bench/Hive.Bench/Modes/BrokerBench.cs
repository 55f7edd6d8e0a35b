using System.Diagnostics;
using System.Runtime;
using System.Text;
using System.Text.Json;
using Hive.Bench.Infrastructure;
using Hive.Features.Messages;
using Hive.Shared.Data;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The broker against its floor, in one run and one process:
/// (a) raw SQLite single-row transactions; (b) acknowledged <c>send</c>s over agents' sockets, 1 and 16 clients;
/// (c) send→recv latency with a parked long-poll; (d) send→SSE latency with 1 and N subscribers; the WAL's size.
/// Throughput cases alternate raw/hive over several rounds (medians reported, ratios taken within the run); every
/// measured case starts after <c>sync</c> and a pause (STYLE.md's benchmark gotchas).
/// </summary>
internal sealed class BrokerBench : IBenchMode
{
    public string Name => "broker";
    public string Summary => "raw SQLite vs hive send throughput; send->recv and send->SSE latency; WAL size";

    private const int ConcurrentClients = 16;
    private const string Sink = "sink";
    private const string Receiver = "rx";
    private const string Talker = "tx";
    // The performance issue's goals at a load under 2: send -> waiting recv p99 2 ms, send -> SSE p99 3 ms (one subscriber).
    private const double RecvGoalMs = 2;
    private const double SseGoalMs = 3;
    private const double ManySseGoalMs = 10;

    // About what an agent's status line weighs; the same text goes into the raw baseline's rows.
    private const string Body =
        "status: finished the migration review; two findings filed, see state/notes/review-0427.md for the details.";

    // Tiered JIT (with PGO) takes a few seconds to settle the send path; a shorter warm-up left round 1's (b1) at
    // half speed and twice the CPU per send.
    private static readonly TimeSpan RawWarmUp = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan HiveWarmUp = TimeSpan.FromSeconds(2.5);

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = Path.Combine(Path.GetTempPath(), "hive-bench-" + Guid.NewGuid().ToString("N")[..12]);
        var senders = Enumerable.Range(0, ConcurrentClients).Select(i => $"s{i}").ToArray();

        Console.WriteLine("== Hive broker benchmark ==");
        Console.WriteLine($"cores: {Environment.ProcessorCount}   runtime: .NET {Environment.Version}   server GC: {GCSettings.IsServerGC}   " +
                          $"build: {BuildConfiguration}");
        Console.WriteLine($"synchronous: {options.Synchronous} (raw and hive)   rounds: {options.Rounds}   seconds/throughput case: " +
                          $"{Stats.F(options.Seconds, 1)}   latency samples: {options.Count}   SSE subscribers: 1 and {options.Subscribers}");
        Console.WriteLine($"data dir: {root}");
        Console.WriteLine($"load average at start: {LoadAverage()}   (other work on this machine skews every figure; compare ratios)");
        if (BuildConfiguration != "Release") Console.WriteLine("WARNING: not a Release build; figures are not comparable");

        var total = Stopwatch.StartNew();
        var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "hive"), [.. senders, Sink, Receiver, Talker],
            // The hourly budget of message bodies (8 MiB an agent) is a guard against a runaway agent, not what is measured:
            // 16 senders flat out spend it within a few rounds of 10 s. The most it may be: 1 TiB.
            ["--Hive:Database:Synchronous", options.Synchronous, "--Hive:Messages:BytesPerHour", "1099511627776",
             .. EventStreamsFromOneClient(options.Subscribers)]);
        try
        {
            using var raw = new RawSqlite(Path.Combine(root, "raw", "raw.db"), options.Synchronous);
            var clients = new List<LineClient>();
            foreach (var sender in senders) clients.Add(await hive.ConnectLinesAsync(sender));

            var throughput = await ThroughputAsync(options, raw, hive, clients);
            var walAfterThroughput = hive.WalBytes;
            if (options.ThroughputOnly)
            {
                foreach (var client in clients) await client.DisposeAsync();
                Console.WriteLine();
                Console.WriteLine($"== Summary (throughput only; medians of {options.Rounds} alternating rounds) ==");
                throughput.Print();
                return 0;
            }
            var loadBeforeRecv = LoadAverage().Split(' ')[0];
            var recv = await RecvLatencyAsync(options, hive);
            var loadAfterRecv = LoadAverage().Split(' ')[0];
            var sseOne = await SseLatencyAsync(options, hive, 1);
            var sseMany = await SseLatencyAsync(options, hive, options.Subscribers);
            var walAtEnd = hive.WalBytes;
            foreach (var client in clients) await client.DisposeAsync();

            Console.WriteLine();
            Console.WriteLine($"== Summary (synchronous={options.Synchronous}, {Environment.ProcessorCount} cores; throughput: medians of {options.Rounds} alternating rounds) ==");
            throughput.Print();
            Console.WriteLine($"(c)    send->recv, parked long-poll:  {recv.Recv}   goal p99 < {RecvGoalMs} ms at load < 2: {Verdict(recv.Recv.P99, RecvGoalMs)}   (load {loadBeforeRecv} -> {loadAfterRecv})");
            Console.WriteLine($"(c')   send->recv->ack:               {recv.Acked}");
            sseOne.Print(SseGoalMs);
            sseMany.Print(ManySseGoalMs);
            Console.WriteLine($"WAL    hive.db-wal after throughput: {Stats.Bytes(walAfterThroughput)}");
            Console.WriteLine($"WAL    hive.db-wal at end:           {Stats.Bytes(walAtEnd)}   (raw baseline's raw.db-wal: {Stats.Bytes(raw.WalBytes)})");
            Console.WriteLine($"cores  {Environment.ProcessorCount}   load average at end: {LoadAverage()}");
            Console.WriteLine($"total run time {Stats.F(total.Elapsed.TotalSeconds, 1)} s");
            return 0;
        }
        finally
        {
            await hive.DisposeAsync();
            if (options.Keep) Console.WriteLine($"kept {root}");
            else
            {
                try { Directory.Delete(root, recursive: true); } catch (IOException) { }
            }
        }
    }

    private static byte[] Line(object request) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request) + "\n");

    // ---------------------------------------------------------------- (a) and (b): throughput, alternating

    /// <summary>One round's rates (per second) and this process's CPU time per operation (µs, clients included).</summary>
    private sealed record Round(double RawRows, double HiveOne, double HiveMany, double RawCpu, double HiveOneCpu, double HiveManyCpu, double Echo, double Floor, double IndexedFloor,
        double BehindFloor, long BehindLag);

    private static TimeSpan CpuTime() => Process.GetCurrentProcess().TotalProcessorTime;

    private sealed class ThroughputResult(List<Round> rounds, Latency rawTx, Latency ackOne, Latency ackMany, double floorBatch, double indexedFloorBatch,
        double behindBatch)
    {
        public void Print()
        {
            var a = Stats.Median(rounds.Select(r => r.RawRows));
            var b1 = Stats.Median(rounds.Select(r => r.HiveOne));
            var b16 = Stats.Median(rounds.Select(r => r.HiveMany));
            var perRound1 = string.Join(", ", rounds.Select(r => Stats.F(r.HiveOne / r.RawRows, 3)));
            var perRound16 = string.Join(", ", rounds.Select(r => Stats.F(r.HiveMany / r.RawRows, 3)));
            var cpuA = Stats.Median(rounds.Select(r => r.RawCpu));
            var cpu1 = Stats.Median(rounds.Select(r => r.HiveOneCpu));
            var cpu16 = Stats.Median(rounds.Select(r => r.HiveManyCpu));
            var echo = Stats.Median(rounds.Select(r => r.Echo));
            Console.WriteLine($"(a)    raw SQLite, 1 row per tx:       {Stats.N(a),9} rows/s    cpu {Stats.F(cpuA, 1),6} us/row    tx  {rawTx}");
            Console.WriteLine($"(b1)   hive send acked, 1 client:     {Stats.N(b1),9} sends/s   cpu {Stats.F(cpu1, 1),6} us/send   ack {ackOne}");
            Console.WriteLine($"(b16)  hive send acked, {ConcurrentClients} clients:   {Stats.N(b16),9} sends/s   cpu {Stats.F(cpu16, 1),6} us/send   ack {ackMany}");
            Console.WriteLine($"       (cpu = this process's user+system time per operation, the in-process clients included)");
            Console.WriteLine($"ratio  (b1)/(a)  = {Stats.F(b1 / a, 3)}   (per round: {perRound1})");
            Console.WriteLine($"ratio  (b16)/(a) = {Stats.F(b16 / a, 3)}   (per round: {perRound16}){(b16 / a < 0.5 ? "   < 0.5" : "")}");
            Console.WriteLine($"(e16)  bare Unix-socket echo, {ConcurrentClients} clients: {Stats.N(echo),9} round trips/s (one line answered per line, nothing else)");
            Console.WriteLine($"ratio  (b16)/(e16) = {Stats.F(b16 / echo, 3)}   (per round: {string.Join(", ", rounds.Select(r => Stats.F(r.HiveMany / r.Echo, 3)))})   goal >= 0.5: {(b16 / echo >= 0.5 ? "met" : "MISSED")}");
            var floor = Stats.Median(rounds.Select(r => r.Floor));
            Console.WriteLine($"(f16)  floor, no host: one epoll thread, each wake-up's sends in one SQLite transaction, {ConcurrentClients} clients: {Stats.N(floor),9} sends/s   (rows per commit {Stats.F(floorBatch, 2)})");
            Console.WriteLine($"ratio  (f16)/(e16) = {Stats.F(floor / echo, 3)}   (per round: {string.Join(", ", rounds.Select(r => Stats.F(r.Floor / r.Echo, 3)))})   the part of the echo's rate a commit per acknowledgement leaves");
            Console.WriteLine($"ratio  (b16)/(f16) = {Stats.F(b16 / floor, 3)}   (per round: {string.Join(", ", rounds.Select(r => Stats.F(r.HiveMany / r.Floor, 3)))})   the host against that floor");
            var indexed = Stats.Median(rounds.Select(r => r.IndexedFloor));
            Console.WriteLine($"(f16s) floor that also indexes each send for search in its transaction (as the host must), {ConcurrentClients} clients: {Stats.N(indexed),9} sends/s   (rows per commit {Stats.F(indexedFloorBatch, 2)})");
            Console.WriteLine($"ratio  (b16)/(f16s) = {Stats.F(b16 / indexed, 3)}   (per round: {string.Join(", ", rounds.Select(r => Stats.F(r.HiveMany / r.IndexedFloor, 3)))})   the host against the floor of the same durable work");
            var behind = Stats.Median(rounds.Select(r => r.BehindFloor));
            Console.WriteLine($"(f16i) floor whose sends a second thread indexes behind them, in batches (as the host does), {ConcurrentClients} clients: {Stats.N(behind),9} sends/s   " +
                              $"(rows per index batch {Stats.F(behindBatch, 1)}; not yet indexed as each round ended: {string.Join(", ", rounds.Select(r => r.BehindLag))})");
            Console.WriteLine($"ratio  (f16i)/(f16) = {Stats.F(behind / floor, 3)}   (per round: {string.Join(", ", rounds.Select(r => Stats.F(r.BehindFloor / r.Floor, 3)))})   what keeping search current leaves of the floor");
            Console.WriteLine($"ratio  (b16)/(f16i) = {Stats.F(b16 / behind, 3)}   (per round: {string.Join(", ", rounds.Select(r => Stats.F(r.HiveMany / r.BehindFloor, 3)))})   the host against that floor");
        }
    }

    private static async Task<ThroughputResult> ThroughputAsync(BenchOptions options, RawSqlite raw, HiveInstance hive, List<LineClient> clients)
    {
        await using var echoServer = new BareEchoServer(Path.Combine(Path.GetTempPath(), $"hive-echo-{Guid.NewGuid():N}"[..24] + ".sock"));
        var echoClients = new List<LineClient>();
        for (var i = 0; i < ConcurrentClients; i++) echoClients.Add(await LineClient.ConnectAsync(echoServer.Path));
        using var floorStorage = new RawSqlite(Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(raw.DatabasePath))!, "floor", "floor.db"), options.Synchronous);
        using var floorServer = new GroupCommitFloor(Path.Combine(Path.GetTempPath(), $"hive-floor-{Guid.NewGuid():N}"[..24] + ".sock"), floorStorage);
        var floorClients = new List<LineClient>();
        for (var i = 0; i < ConcurrentClients; i++) floorClients.Add(await LineClient.ConnectAsync(floorServer.Path));
        using var indexedStorage = new RawSqlite(Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(raw.DatabasePath))!, "floor-indexed", "floor.db"), options.Synchronous, indexed: true);
        using var indexedServer = new GroupCommitFloor(Path.Combine(Path.GetTempPath(), $"hive-floor-{Guid.NewGuid():N}"[..24] + ".sock"), indexedStorage);
        var indexedClients = new List<LineClient>();
        for (var i = 0; i < ConcurrentClients; i++) indexedClients.Add(await LineClient.ConnectAsync(indexedServer.Path));
        using var behindStorage = new RawSqlite(Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(raw.DatabasePath))!, "floor-behind", "floor.db"), options.Synchronous, indexed: true);
        using var behindIndexer = new FloorIndexer(behindStorage);
        using var behindServer = new GroupCommitFloor(Path.Combine(Path.GetTempPath(), $"hive-floor-{Guid.NewGuid():N}"[..24] + ".sock"), behindStorage, behindIndexer);
        var behindClients = new List<LineClient>();
        for (var i = 0; i < ConcurrentClients; i++) behindClients.Add(await LineClient.ConnectAsync(behindServer.Path));
        var send = Line(new { op = "send", to = Sink, body = Body });
        var duration = TimeSpan.FromSeconds(options.Seconds);
        var rawTx = new List<double>();
        var ackOne = new List<double>();
        var ackMany = new List<double>();

        Console.WriteLine();
        Console.WriteLine("-- (a)/(b) throughput: warming up --");
        raw.Run(RawWarmUp, Talker, Sink, Body);
        await HiveSendsAsync(clients.Take(1).ToList(), send, HiveWarmUp, null);
        await HiveSendsAsync(clients, send, HiveWarmUp, null);
        await HiveSendsAsync(clients.Take(1).ToList(), send, RawWarmUp, null);
        await HiveSendsAsync(echoClients, send, RawWarmUp, null);
        await HiveSendsAsync(floorClients, send, RawWarmUp, null);
        await HiveSendsAsync(indexedClients, send, RawWarmUp, null);
        await HiveSendsAsync(behindClients, send, RawWarmUp, null);

        var rounds = new List<Round>();
        for (var r = 0; r < options.Rounds; r++)
        {
            double a = 0, b1 = 0, b16 = 0, cpuA = 0, cpu1 = 0, cpu16 = 0, e16 = 0, f16 = 0, f16s = 0, f16i = 0;
            long lag = 0;
            // Rotate the order each round, so no case always follows the same one.
            for (var k = 0; k < 7; k++)
            {
                await Disk.SettleAsync();
                var cpuBefore = CpuTime();
                switch ((r + k) % 7)
                {
                    case 6:
                        (f16i, _) = await HiveSendsAsync(behindClients, send, duration, null);
                        lag = behindServer.Rows - behindIndexer.Indexed;
                        break;
                    case 5:
                        (f16s, _) = await HiveSendsAsync(indexedClients, send, duration, null);
                        break;
                    case 4:
                        (f16, _) = await HiveSendsAsync(floorClients, send, duration, null);
                        break;
                    case 3:
                        (e16, _) = await HiveSendsAsync(echoClients, send, duration, null);
                        break;
                    case 0:
                        var (rows, elapsed) = raw.Run(duration, Talker, Sink, Body, rawTx);
                        a = rows / Stats.Seconds(elapsed);
                        cpuA = (CpuTime() - cpuBefore).TotalMicroseconds / rows;
                        break;
                    case 1:
                        var (rate1, count1) = await HiveSendsAsync(clients.Take(1).ToList(), send, duration, ackOne);
                        b1 = rate1;
                        cpu1 = (CpuTime() - cpuBefore).TotalMicroseconds / count1;
                        break;
                    case 2:
                        var (rate16, count16) = await HiveSendsAsync(clients, send, duration, ackMany);
                        b16 = rate16;
                        cpu16 = (CpuTime() - cpuBefore).TotalMicroseconds / count16;
                        break;
                }
            }
            rounds.Add(new Round(a, b1, b16, cpuA, cpu1, cpu16, e16, f16, f16s, f16i, lag));
            Console.WriteLine($"round {r + 1}/{options.Rounds}:  (a) raw {Stats.N(a),9} rows/s   (b1) {Stats.N(b1),8} sends/s   " +
                              $"(b16) {Stats.N(b16),8} sends/s   (b1)/(a) {Stats.F(b1 / a, 3)}   (b16)/(a) {Stats.F(b16 / a, 3)}   " +
                              $"cpu us/op {Stats.F(cpuA, 1)} / {Stats.F(cpu1, 1)} / {Stats.F(cpu16, 1)}   WAL {Stats.Bytes(hive.WalBytes)}");
        }
        foreach (var client in echoClients.Concat(floorClients).Concat(indexedClients).Concat(behindClients)) await client.DisposeAsync();
        return new ThroughputResult(rounds, Latency.Of(rawTx), Latency.Of(ackOne), Latency.Of(ackMany),
            floorServer.Rows / (double)Math.Max(1, floorServer.Commits), indexedServer.Rows / (double)Math.Max(1, indexedServer.Commits),
            behindIndexer.Indexed / (double)Math.Max(1, behindIndexer.Batches));
    }

    /// <summary>Each client sends, waits for its ack, repeats, until the time is up. Returns (acknowledged sends per second, sends).</summary>
    private static async Task<(double Rate, long Count)> HiveSendsAsync(List<LineClient> clients, byte[] send, TimeSpan duration, List<double>? acks)
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long deadline = 0;
        var perClient = clients.Select(client => Task.Run(async () =>
        {
            await go.Task;
            var latencies = new List<long>(1 << 14);
            var end = Volatile.Read(ref deadline);
            while (true)
            {
                var before = Stopwatch.GetTimestamp();
                if (before >= end) break;
                var reply = await client.CallAsync(send);
                latencies.Add(Stopwatch.GetTimestamp() - before);
                if (!Reply.IsOk(reply.Span)) throw new InvalidOperationException("send failed: " + Reply.Text(reply.Span));
            }
            return latencies;
        })).ToList();

        var started = Stopwatch.GetTimestamp();
        Volatile.Write(ref deadline, started + (long)(duration.TotalSeconds * Stopwatch.Frequency));
        go.SetResult();
        var results = await Task.WhenAll(perClient);
        var elapsed = Stopwatch.GetTimestamp() - started;
        if (acks is not null) acks.AddRange(results.SelectMany(l => l).Select(Stats.Ms));
        long count = results.Sum(l => l.Count);
        return (count / Stats.Seconds(elapsed), count);
    }

    // ---------------------------------------------------------------- (c): send -> recv

    /// <summary>send→recv (the message reaches the parked receiver) and send→recv→ack (and its acknowledgement is stored).</summary>
    private static async Task<(Latency Recv, Latency Acked)> RecvLatencyAsync(BenchOptions options, HiveInstance hive)
    {
        await using var receiver = await hive.ConnectLinesAsync(Receiver);
        await using var talker = await hive.ConnectLinesAsync(Talker);
        var recv = Line(new { op = "recv", wait_ms = 30_000 });
        var send = Line(new { op = "send", to = Receiver, body = Body });
        var warmUp = Math.Max(50, options.Count / 10);

        Console.WriteLine();
        Console.WriteLine($"-- (c) send->recv latency: at least {warmUp} warm-up (until the JIT is quiet) + {options.Count} samples --");
        // The receiver's inbox must be empty, so each recv takes exactly the message just sent.
        var drain = Line(new { op = "recv", wait_ms = 0 });
        while (Reply.HasMessage((await receiver.CallAsync(drain)).Span)) { }

        await Disk.SettleAsync();
        var samples = new List<double>(options.Count);
        var acked = new List<double>(options.Count);
        var warm = new JitWarmUp(warmUp, 10 * warmUp);
        var db = hive.Service<IDb>();
        var checkpointer = hive.Service<WalCheckpointer>();
        var causes = new TailCauses(() => db.BusyWaits, () => checkpointer.Checkpoints);
        var messagesMetrics = hive.Service<MessagesMetrics>();
        var handedOver = 0;
        while (samples.Count < options.Count)
        {
            await receiver.WriteAsync(recv);
            await Task.Delay(1); // let the recv find the inbox empty and park on its long-poll

            var handedOverBefore = messagesMetrics.HandedOver;
            causes.Begin();
            var before = Stopwatch.GetTimestamp();
            await talker.WriteAsync(send);
            var delivered = await receiver.ReadLineAsync();
            var after = Stopwatch.GetTimestamp();
            causes.End(Stats.Ms(after - before));
            if (!Reply.HasMessage(delivered.Span)) throw new InvalidOperationException("recv came back empty: " + Reply.Text(delivered.Span));
            var receivedId = Reply.Id(delivered.Span);

            var ack = await talker.ReadLineAsync();
            if (!Reply.IsOk(ack.Span)) throw new InvalidOperationException("send failed: " + Reply.Text(ack.Span));
            if (Reply.Id(ack.Span) != receivedId) throw new InvalidOperationException($"recv took message {receivedId}, not the one just sent");

            // Delivery is at least once: the receiver acknowledges, and only then is the message delivered.
            var acknowledged = await receiver.CallAsync(Line(new { op = "ack", id = receivedId }));
            var afterAck = Stopwatch.GetTimestamp();
            if (!Reply.IsOk(acknowledged.Span)) throw new InvalidOperationException("ack failed: " + Reply.Text(acknowledged.Span));

            if (warm.Done)
            {
                if (messagesMetrics.HandedOver > handedOverBefore) handedOver++;
                samples.Add(Stats.Ms(after - before));
                acked.Add(Stats.Ms(afterAck - before));
            }
            else
            {
                warm.Step();
                causes.ForgetLast();
            }
        }
        Console.WriteLine($"(c) {warm}");
        Console.WriteLine($"(c) send->recv, {causes}");
        Console.WriteLine($"(c) answered by the send's hand-over (no take of their own): {handedOver} of {samples.Count}");
        var latency = Latency.Of(samples);
        var ackLatency = Latency.Of(acked);
        Console.WriteLine($"(c) send->recv: {latency}");
        Console.WriteLine($"(c) send->recv->ack: {ackLatency}");
        return (latency, ackLatency);
    }

    // ---------------------------------------------------------------- (d): send -> SSE

    private sealed class SseResult(int subscribers, Latency perObservation, Latency perEvent, Latency ack)
    {
        public Latency PerObservation => perObservation;
        public Latency PerEvent => perEvent;

        public void Print(double goal)
        {
            var label = $"(d{subscribers})";
            Console.WriteLine($"{label,-6} send->SSE, {subscribers} subscriber{(subscribers == 1 ? "" : "s")}:");
            Console.WriteLine($"         every subscriber-observation: {perObservation}");
            Console.WriteLine($"         per event, slowest subscriber: {perEvent}   goal p99 < {goal} ms: {Verdict(perEvent.P99, goal)}");
            Console.WriteLine($"         (send ack on the same run:     {ack})");
        }
    }

    /// <summary>
    /// One message in flight at a time: stamp, send, and wait until every subscriber has read its <c>sent</c> event.
    /// Latency = arrival at a subscriber minus the stamp taken just before the send was written.
    /// </summary>
    private static async Task<SseResult> SseLatencyAsync(BenchOptions options, HiveInstance hive, int subscribers)
    {
        var samples = subscribers == 1 ? options.Count : Math.Max(100, options.Count / 2);
        var warmUp = Math.Max(50, samples / 10);
        Console.WriteLine();
        Console.WriteLine($"-- (d) send->SSE latency, {subscribers} subscriber(s): at least {warmUp} warm-up (until the JIT is quiet) + {samples} samples --");

        using var http = hive.CreateClient(handler: new SocketsHttpHandler
        {
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            MaxConnectionsPerServer = int.MaxValue,
        }, timeout: Timeout.InfiniteTimeSpan);
        var probe = new SseProbe();
        var streams = await Task.WhenAll(Enumerable.Range(0, subscribers).Select(_ => SseSubscriber.OpenAsync(http, probe)));
        await using var talker = await hive.ConnectLinesAsync(Talker);
        var send = Line(new { op = "send", to = Sink, body = Body });

        var sentAt = new Dictionary<long, long>(samples);
        var acks = new List<double>(samples);
        var warm = new JitWarmUp(warmUp, 10 * warmUp);
        try
        {
            await Disk.SettleAsync();
            while (acks.Count < samples)
            {
                probe.Arm(subscribers);
                var before = Stopwatch.GetTimestamp();
                await talker.WriteAsync(send);
                var ack = await talker.ReadLineAsync();
                var acked = Stopwatch.GetTimestamp();
                if (!Reply.IsOk(ack.Span)) throw new InvalidOperationException("send failed: " + Reply.Text(ack.Span));
                var id = Reply.Id(ack.Span);
                await probe.AllObserved.WaitAsync(TimeSpan.FromSeconds(10));
                if (!warm.Done)
                {
                    warm.Step();
                    continue;
                }
                sentAt[id] = before;
                acks.Add(Stats.Ms(acked - before));
            }
        }
        finally
        {
            foreach (var stream in streams) await stream.DisposeAsync();
        }
        Console.WriteLine($"(d{subscribers}) {warm}");

        var perObservation = new List<double>(samples * subscribers);
        var slowest = new Dictionary<long, double>(samples);
        foreach (var stream in streams)
        {
            foreach (var (id, at) in stream.Sent)
            {
                if (!sentAt.TryGetValue(id, out var before)) continue; // a warm-up message
                var ms = Stats.Ms(at - before);
                perObservation.Add(ms);
                slowest[id] = Math.Max(slowest.GetValueOrDefault(id), ms);
            }
        }
        if (perObservation.Count != samples * subscribers)
            throw new InvalidOperationException($"expected {samples * subscribers} observations, got {perObservation.Count}");

        var result = new SseResult(subscribers, Latency.Of(perObservation), Latency.Of(slowest.Values), Latency.Of(acks));
        Console.WriteLine($"(d{subscribers}) per observation: {result.PerObservation}");
        Console.WriteLine($"(d{subscribers}) per event (slowest subscriber): {result.PerEvent}");
        return result;
    }
}
