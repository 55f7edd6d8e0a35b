namespace Hive.Tests.Features.Messages;

/// <summary>
/// The host as a child process, SIGKILLed at random moments while an agent sends and another receives and
/// acknowledges: across twenty kills no acknowledged send is missing, nothing is lost, and a message seen twice is
/// always flagged as a redelivery.
/// </summary>
public sealed class DeliveryCrashTests : IAsyncLifetime
{
    private const int Kills = 20;
    private const int SendsPerLife = 60;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-delivery-crash-" + Guid.NewGuid().ToString("N")[..12]);
    private static readonly string[] Args = ["--Hive:Messages:AckTimeoutSeconds", "0.3", "--Hive:Messages:MaxDeliveries", "1000"];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Twenty_SIGKILLs_lose_no_acknowledged_send_and_duplicate_only_as_flagged_redeliveries()
    {
        string[] agents = ["alice", "bob"];
        var random = new Random(20261122);
        var sender = new Sender();
        var receiver = new Receiver();
        var killedWithMessagesInFlight = 0;

        for (var life = 0; life < Kills; life++)
        {
            await using var host = await HostProcess.StartAsync(_dataDir, agents, extraArgs: Args);
            using var stop = new CancellationTokenSource();
            var sending = sender.RunAsync(host, (life + 1) * SendsPerLife, stop.Token);
            var receiving = receiver.RunAsync(host, stop.Token);
            // Pull the plug at a random moment while both are busy: once this life has acknowledged sends (a busy machine
            // can take longer than the delay below just to start the host), then after a random delay.
            var before = sender.Acknowledged.Count;
            await HiveInstance.Until(() => sender.Acknowledged.Count >= before + 5, TimeSpan.FromSeconds(30), "this life's first sends");
            await Task.Delay(random.Next(20, 300));
            var inFlight = HiveInstance.QueryDb<long>(_dataDir,
                "SELECT count(*) FROM messages WHERE delivered_at IS NULL AND in_flight_until IS NOT NULL");
            await host.KillAsync();
            if (inFlight > 0) killedWithMessagesInFlight++;
            stop.Cancel();
            await Task.WhenAll(sending, receiving);
        }

        // A last life: the sender finishes what it never got an answer for, the receiver drains everything.
        await using (var final = await HostProcess.StartAsync(_dataDir, agents, extraArgs: Args))
        {
            using var stop = new CancellationTokenSource();
            await sender.RunAsync(final, Kills * SendsPerLife, stop.Token);
            var receiving = receiver.RunAsync(final, stop.Token);
            await HiveInstance.Until(() => sender.Acknowledged.Keys.All(receiver.Acked.ContainsKey), TimeSpan.FromSeconds(60),
                "every acknowledged send received and acknowledged");
            stop.Cancel();
            await receiving;
            await final.TerminateAsync(TimeSpan.FromSeconds(20));
        }

        Assert.True(killedWithMessagesInFlight >= Kills / 4, $"only {killedWithMessagesInFlight} kills landed with messages in flight");
        Assert.Equal(Kills * SendsPerLife, sender.Acknowledged.Count);
        var lost = sender.Acknowledged.Keys.Where(id => !receiver.Seen.ContainsKey(id)).ToList();
        Assert.True(lost.Count == 0, $"acknowledged sends never received: {string.Join(", ", lost)}");
        Assert.Empty(receiver.UnflaggedRepeats);                                               // duplicates only when flagged
        Assert.Equal(Kills * SendsPerLife, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM messages"));   // client_id: no double sends
        Assert.Equal(0, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM messages WHERE delivered_at IS NULL"));
        Assert.Equal("ok", HiveInstance.QueryDb<string>(_dataDir, "PRAGMA integrity_check"));
    }

    /// <summary>alice sends message i with client id i; one whose answer was lost is sent again, same client id, next life.</summary>
    private sealed class Sender
    {
        private int _next;
        public Dictionary<long, int> Acknowledged { get; } = []; // message id -> i

        public async Task RunAsync(HostProcess host, int to, CancellationToken stop)
        {
            try
            {
                await using var alice = await host.ConnectAsync("alice");
                for (; _next < to; _next++)
                {
                    if (stop.IsCancellationRequested) return;
                    var reply = await alice.CallAsync(new { op = "send", to = "bob", body = $"m{_next}", client_id = $"m{_next}" });
                    if (!reply.GetProperty("ok").GetBoolean()) throw new InvalidOperationException(reply.ToString());
                    Acknowledged[reply.GetProperty("id").GetInt64()] = _next;
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                // The host died under us: message _next is retried, with the same client id, in the next life.
            }
        }
    }

    /// <summary>bob receives, acknowledging each message with its next recv.</summary>
    private sealed class Receiver
    {
        private long? _toAck;
        public Dictionary<long, int> Seen { get; } = [];   // message id -> times handed to bob
        public System.Collections.Concurrent.ConcurrentDictionary<long, bool> Acked { get; } = new();
        public List<long> UnflaggedRepeats { get; } = [];

        public async Task RunAsync(HostProcess host, CancellationToken stop)
        {
            try
            {
                await using var bob = await host.ConnectAsync("bob");
                while (!stop.IsCancellationRequested)
                {
                    var reply = await bob.CallAsync(_toAck is { } ack ? new { op = "recv", wait_ms = 100, ack = (long?)ack } : new { op = "recv", wait_ms = 100, ack = (long?)null });
                    if (!reply.GetProperty("ok").GetBoolean()) throw new InvalidOperationException(reply.ToString());
                    if (_toAck is { } acked) Acked[acked] = true;
                    _toAck = null;
                    if (reply.GetProperty("message") is not { ValueKind: JsonValueKind.Object } message) continue;
                    var id = message.GetProperty("id").GetInt64();
                    if (Seen.TryGetValue(id, out var times) && !message.GetProperty("redelivered").GetBoolean()) UnflaggedRepeats.Add(id);
                    Seen[id] = times + 1;
                    _toAck = id;
                    // An agent's work on the message: it stays in flight meanwhile, so kills land with messages in flight.
                    await Task.Delay(2, stop);
                }
                if (_toAck is { } last && (await bob.CallAsync(new { op = "ack", id = last })).GetProperty("ok").GetBoolean())
                {
                    Acked[last] = true;
                    _toAck = null;
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                // The host died: _toAck (if any) is acknowledged in the next life, or redelivered and acknowledged then.
            }
        }
    }
}
