using System.Text;
using Hive.Shared.Dashboard;

namespace Hive.Tests.Shared;

/// <summary>Measures allocations of the whole process, so it runs alone (after the parallel tests).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReplayMemoryCollection
{
    public const string Name = "ReplayMemory";
}

/// <summary>
/// A resuming client is fed from the ring a chunk at a time, never as one buffer, and its live
/// events follow the replay with no gap and no duplicate.
/// </summary>
[Collection(ReplayMemoryCollection.Name)]
public sealed class ReplayStreamingTests : IAsyncLifetime
{
    private const int Ring = 4_000;
    private static readonly string Payload = $"{{\"body\":\"{new string('x', 1000)}\"}}"; // ~1 KiB, like a full message's event
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice"],
        "--Hive:Dashboard:ReplayCapacity", Ring.ToString(), "--Hive:Dashboard:SubscriberQueue", "100000");

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private DashboardHub Hub => _hive.Service<DashboardHub>();

    /// <summary>Fills the ring and returns the id a client resumes from to get all of it.</summary>
    private long FillRing()
    {
        for (var i = 0; i < Ring; i++) Hub.Publish("probe", Payload);
        return Hub.LastId - Ring;
    }

    [Fact]
    public async Task A_resume_from_far_back_streams_the_ring_then_live_events_in_order_with_no_gap_or_duplicate()
    {
        // From half a ring back, so the live events published during the replay (fewer than the other half) overwrite
        // only ring slots the replay does not need (a reader lapped by the ring is cut off: the next test).
        var from = FillRing() + Ring / 2;
        await using var events = await _hive.OpenEventsAsync(from);

        // Live events published while the replay is being written: they must follow it, in order, each once.
        var publisher = Task.Run(() =>
        {
            for (var i = 0; i < 1_000; i++) Hub.Publish("probe", Payload);
        });
        var ids = new List<long>();
        while (ids.Count < Ring / 2 + 1_000)
        {
            var next = await events.NextAsync() ?? throw new IOException("the stream ended");
            Assert.Equal("probe", next.Type);
            ids.Add(next.Id!.Value);
        }
        await publisher;

        Assert.Equal(Enumerable.Range(1, Ring / 2 + 1_000).Select(i => from + i), ids);
    }

    [Fact]
    public async Task A_reader_a_whole_ring_behind_is_cut_off_and_resyncs_on_reconnect()
    {
        var from = FillRing();
        // A client that reads nothing after the hello: the stream stops at the response buffer's back-pressure.
        await using var stalled = await RawResumeAsync(from);
        for (var i = 0; i < Ring; i++) Hub.Publish("probe", Payload); // the ring laps what it has not sent yet

        // Its stream ends rather than send a gap (or the live queue overflows first: either way it is cut off) ...
        await Drain(stalled.Stream, SseStream.Patience);
        // ... and a reconnect from where it stood is told to resync.
        await using var again = await _hive.OpenEventsAsync(from);
        Assert.Equal("resync", (await again.NextAsync())!.Type);
    }

    [Fact]
    public async Task Clients_resuming_a_full_ring_at_once_do_not_each_buffer_the_replay()
    {
        const int clients = 10;
        var from = FillRing();
        var ringBytes = (long)Ring * Payload.Length;
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var streams = new List<RawStream>();
        try
        {
            // None of them reads past the hello. Before this change the host built each replay in one buffer before its
            // first flush (the hello went out with it), so by the time every hello is read it had allocated
            // clients x the ring (x2 for the buffer's growth); now the replay waits on each client's back-pressure.
            for (var i = 0; i < clients; i++) streams.Add(await RawResumeAsync(from));
            await HiveInstance.Until(() => Hub.OpenSubscriptions >= clients, what: "every stream subscribed");
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.True(allocated < clients * ringBytes / 4,
                $"{allocated / 1048576.0:F1} MiB allocated for {clients} stalled resumes of a {ringBytes / 1048576.0:F1} MiB ring");
        }
        finally
        {
            foreach (var stream in streams) await stream.DisposeAsync();
        }
    }

    private sealed record RawStream(HttpClient Http, HttpResponseMessage Response, Stream Stream) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Stream.DisposeAsync();
            Response.Dispose();
            Http.Dispose();
        }
    }

    /// <summary>Resumes from <paramref name="from"/> and reads only up to the end of the hello.</summary>
    private async Task<RawStream> RawResumeAsync(long from)
    {
        // A small, fixed receive buffer (SO_RCVBUF turns the kernel's autotuning off): with rmem up to 32 MiB, loopback could
        // take the whole ring without the host ever feeling the stalled reader.
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp)
                { ReceiveBufferSize = 16 * 1024, NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        var http = _hive.CreateClient(handler: handler);
        http.Timeout = Timeout.InfiniteTimeSpan;
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        request.Headers.Add("Last-Event-ID", from.ToString());
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        var stream = await response.Content.ReadAsStreamAsync();
        var seen = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var one = new byte[1];
        while (!seen.ToString().Contains("event: hello\n") || !seen.ToString().EndsWith("\n\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, timeout.Token) == 0) throw new IOException("the stream ended before its hello");
            seen.Append((char)one[0]);
        }
        return new RawStream(http, response, stream);
    }

    private static async Task Drain(Stream stream, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        while (await stream.ReadAsync(buffer, cts.Token) > 0) { }
    }
}
