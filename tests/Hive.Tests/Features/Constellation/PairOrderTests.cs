using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Hive.Tests.Features.Constellation;

/// <summary>
/// Cross-hive mail's per-pair order and the receiving side's allowed_recipients: each hive numbers its mail per destination
/// (<c>seq</c>), and the receiver takes a pair's mail in that order, holding an early arrival until the gap fills or the
/// reorder window (60 s by default, 10 here) passes and the sender says the gap has left its outbox; copies are dropped by global
/// id, never by number. Reorderings are forced by
/// publishing by hand as hive a's own RabbitMQ user, as a reordering broker or a republish would deliver them.
/// </summary>
public sealed class PairOrderTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int WaitMs = 30_000;


    [Fact]
    public async Task Mail_published_out_of_order_reaches_bob_in_sequence_order_and_a_copy_once()
    {
        await using var hives = await TwoHives.StartAsync(output);
        await using var bob = await hives.B.ConnectAsync("bob");
        await using var connection = await hives.ConnectAsAsync("a");
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));

        await PublishAsync(channel, "a:9002", 2, "second");
        await PublishAsync(channel, "a:9002", 2, "second"); // a redelivered copy while it is held
        await PublishAsync(channel, "a:9001", 1, "first");
        await PublishAsync(channel, "a:9002", 2, "second"); // and one after it was taken in
        await PublishAsync(channel, "a:9003", 3, "third");

        foreach (var body in new[] { "first", "second", "third" })
            Assert.Equal(body, (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Null(await bob.RecvAsync(500));
        Assert.Equal(0, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held"));
        Assert.Equal(4, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT next_seq FROM constellation_inbound_sequences WHERE from_hive = 'a'"));
        Assert.Equal(3, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM messages WHERE sender = 'alice@a'"));
    }

    [Fact]
    public async Task A_gap_that_never_fills_is_given_up_after_the_reorder_window_and_its_mail_still_arrives_late()
    {
        await using var hives = await TwoHives.StartAsync(output, "--Hive:Constellation:ReorderWindowSeconds", "10");
        await using var bob = await hives.B.ConnectAsync("bob");
        await using var connection = await hives.ConnectAsAsync("a");
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));

        var clock = Stopwatch.StartNew();
        await PublishAsync(channel, "a:9002", 2, "after the gap"); // number 1 is missing (bounced, say)
        await PublishAsync(channel, "a:9002", 2, "after the gap");
        Assert.Null(await bob.RecvAsync(3000)); // held, not lost: it is on disk on b, acknowledged to the broker
        await TwoHives.UntilAsync(() => Task.FromResult(HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held") == 1), "b to hold it");

        var released = (await bob.RecvAndAckMessageAsync(WaitMs))!;
        Assert.Equal("after the gap", released.Body);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(9.5), $"released after {clock.Elapsed}: before the 10 s window");
        await hives.B.OutputContainsAsync("mail from hive a numbered 1 to 1 has not come within 10 s");

        // The given-up number arrives after all: a new global id is taken in (late), never dropped; the pair goes on.
        await PublishAsync(channel, "a:9001", 1, "late");
        await PublishAsync(channel, "a:9002", 2, "after the gap"); // a copy of the released one
        await PublishAsync(channel, "a:9003", 3, "next");
        Assert.Equal("late", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Equal("next", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Null(await bob.RecvAsync(500));
        Assert.Equal(3, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM messages WHERE sender = 'alice@a'"));
        Assert.Equal(0, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held"));
    }

    // b's own queue decides too: a consumer of it besides b's (a connection the broker has not yet found dead, holding the
    // mail it was given unacknowledged) may hold the gap's mail, so b holds what came after it past the window until that
    // consumer is gone.
    [Fact]
    public async Task A_gap_is_not_given_up_while_another_consumer_of_the_queue_may_hold_its_mail()
    {
        await using var hives = await TwoHives.StartAsync(output, "--Hive:Constellation:ReorderWindowSeconds", "2");
        await using var bob = await hives.B.ConnectAsync("bob");
        await using var connection = await hives.ConnectAsAsync("a");
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var other = await hives.ConnectAsAsync("b");
        var otherChannel = await other.CreateChannelAsync();
        await otherChannel.BasicQosAsync(0, 1, false);
        var taken = 0;
        var consumer = new AsyncEventingBasicConsumer(otherChannel);
        consumer.ReceivedAsync += (_, _) => { Interlocked.Increment(ref taken); return Task.CompletedTask; }; // never acknowledged
        await otherChannel.BasicConsumeAsync("b", autoAck: false, consumer);

        // Copies of number 2 (number 1 never comes) until b holds one and the other consumer has taken one.
        for (var copies = 1; Volatile.Read(ref taken) == 0 || HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held") == 0; copies++)
        {
            Assert.True(copies <= 20, "the two consumers did not each get a copy");
            await PublishAsync(channel, "a:9002", 2, "after the gap");
            await TwoHives.UntilAsync(() => Task.FromResult(HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held") == 1
                                                              || Volatile.Read(ref taken) > 0), "a consumer to take the copy");
        }
        // Well past the 2 s window (a's beats saying nothing of number 1 is in its outbox): held, since the queue has a second consumer.
        Assert.Null(await bob.RecvAsync(8000));
        Assert.Equal(1, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held"));

        await other.CloseAsync(); // its copy goes back to the queue, and b drops it as a copy
        await other.DisposeAsync();
        Assert.Equal("after the gap", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Contains("mail from hive a numbered 1 to 1 has not come within 2 s, that hive says it has left its outbox, and this hive's queue holds nothing more",
            hives.B.Output, StringComparison.Ordinal);
        Assert.Equal(1, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM messages WHERE sender = 'alice@a'"));
    }

    // The sender's heartbeat decides past the window: while hive a says number 1 is still in its outbox (its user may not
    // publish to b for now), b holds number 2 however long; once a may publish again, 1 comes and 2 follows it.
    [Fact]
    public async Task Mail_ahead_of_a_gap_the_sender_still_holds_waits_past_the_window_for_it()
    {
        await using var hives = await TwoHives.StartAsync(output,
            "--Hive:Constellation:ReorderWindowSeconds", "1", "--Hive:Constellation:HeartbeatSeconds", "0.5");
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");
        await MayPublishAsync(hives, false);
        await alice.SendAsync("bob@b", "first");
        await TwoHives.UntilAsync(() => Task.FromResult(BeatOfA(hives.B)?.Contains("\"b\":{\"assigned\":1,\"unsent\":1}", StringComparison.Ordinal) == true),
            "b to hear that a holds number 1");

        // Number 2 by the broker's admin as hive a (the impersonator tag lets it set a's user-id), as a republish would.
        await hives.Node.RunCtlAsync("set_user_tags", "guest", "administrator", "impersonator");
        await using (var admin = await new ConnectionFactory { HostName = "127.0.0.1", Port = hives.Node.AmqpPort, AutomaticRecoveryEnabled = false }.CreateConnectionAsync())
        await using (var channel = await admin.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
            await PublishAsync(channel, "a:9002", 2, "second");
        await TwoHives.UntilAsync(() => Task.FromResult(HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held") == 1), "b to hold it");
        var heldAt = DateTimeOffset.UtcNow;
        // Five beats past the 1 s window, each saying number 1 is still in a's outbox: held all along.
        await TwoHives.UntilAsync(() => Task.FromResult(DateTimeOffset.Parse(HiveInstance.QueryDb<string>(hives.B.DataDir,
            "SELECT last_heard_at FROM constellation_hives WHERE name = 'a'"), System.Globalization.CultureInfo.InvariantCulture) > heldAt + TimeSpan.FromSeconds(1 + 5 * 0.5)),
            "a's beats past the window");
        Assert.Equal(1, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held"));
        Assert.Null(await bob.RecvAsync(0));

        await MayPublishAsync(hives, true);
        Assert.Equal("first", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Equal("second", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.DoesNotContain("has not come within", hives.B.Output, StringComparison.Ordinal);
    }

    // A broker can confirm mail and lose it (RabbitMQ 3.10.8 did, after a restart left queue b without a leader): b's
    // heartbeat says which numbers it misses, and a publishes them again. The loss is made by marking a's row 1 sent while
    // a may not publish to b, so it never reaches the broker.
    [Fact]
    public async Task Mail_the_broker_confirmed_and_lost_is_published_again_when_the_receiver_says_it_misses_it()
    {
        await using var hives = await TwoHives.StartAsync(output,
            "--Hive:Constellation:ReorderWindowSeconds", "4", "--Hive:Constellation:HeartbeatSeconds", "0.5");
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");
        await MayPublishAsync(hives, false);
        await alice.SendAsync("bob@b", "first");
        await alice.SendAsync("bob@b", "second");
        Assert.Equal(1, HiveInstance.QueryDb<long>(hives.A.DataDir,
            "UPDATE constellation_outbox SET sent_at = '2026-01-01T00:00:00.000Z' WHERE seq = 1 AND destination = 'b' RETURNING seq"));

        await MayPublishAsync(hives, true);
        Assert.Equal("first", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Equal("second", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Null(await bob.RecvAsync(500));
        await hives.A.OutputContainsAsync("hive b misses mail numbered 1 to 1, which the broker confirmed; 1 rows are published again");
        Assert.DoesNotContain("has not come within", hives.B.Output, StringComparison.Ordinal);
        Assert.Equal(0, HiveInstance.QueryDb<long>(hives.A.DataDir, "SELECT count(*) FROM constellation_outbox WHERE sent_at IS NULL"));
    }

    /// <summary>Hive a's topic permission on the mail exchange: none (its relay's publishes refused, its rows wait in its outbox) or back.</summary>
    private static Task<string> MayPublishAsync(TwoHives hives, bool may) =>
        hives.Node.RunCtlAsync("set_topic_permissions", "-p", "/", "a", TwoHives.Exchange, may ? ".*" : "^$", "^a$");

    private static string? BeatOfA(HostProcess b) => HiveInstance.QueryDb<string?>(b.DataDir, "SELECT beat FROM constellation_hives WHERE name = 'a'");

    [Fact]
    public async Task A_backlog_drains_through_the_pipelined_relay_in_order_once()
    {
        const int count = 300;
        await using var hives = await TwoHives.StartAsync(output);
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");
        await hives.Node.StopAsync();
        for (var i = 1; i <= count; i++) await alice.SendAsync("bob@b", $"m{i}");
        await hives.Node.RestartAsync();

        for (var i = 1; i <= count; i++)
            Assert.Equal($"m{i}", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Null(await bob.RecvAsync(500));
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i),
            HiveInstance.QueryDbList<long>(hives.A.DataDir, "SELECT seq FROM constellation_outbox WHERE sent_at IS NOT NULL ORDER BY id"));
        Assert.Equal(0, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held"));
        var drain = HiveInstance.QueryDbList<string>(hives.A.DataDir, "SELECT sent_at FROM constellation_outbox ORDER BY sent_at")
            .Select(at => DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        output.WriteLine($"relay drained {count} rows in {(drain[^1] - drain[0]).TotalMilliseconds:F0} ms (first to last sent_at)");
    }

    // The restart waits for the queues' leaders (RabbitMQ 3.10's leaderless-queue bug, see TwoHives.RestartBrokerAsync):
    // before it did, this stalled in 8 of 13 runs with hive a's relay waiting on the broker.
    [Fact]
    public async Task A_broker_killed_while_the_relay_has_windows_in_flight_loses_and_doubles_nothing()
    {
        const int count = 1000;
        await using var hives = await TwoHives.StartAsync(output);
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");
        var sending = Task.Run(async () =>
        {
            for (var i = 1; i <= count; i++) await alice.SendAsync("bob@b", $"m{i}");
        });
        // SIGKILL once the relay is well under way: some windows confirmed, some in flight, the rest not yet published.
        await TwoHives.UntilAsync(() => Task.FromResult(HiveInstance.QueryDb<long>(hives.A.DataDir,
            "SELECT count(*) FROM constellation_outbox WHERE sent_at IS NOT NULL") >= 200), "the relay to be under way");
        await hives.Node.KillAsync();
        await hives.RestartBrokerAsync();
        await sending;

        for (var i = 1; i <= count; i++)
        {
            // Up to the default reorder window and more (a recv waits 30 s at most): a restarted broker can hand back mail
            // b held unacknowledged late.
            var message = await bob.RecvAndAckAsync(WaitMs) ?? await bob.RecvAndAckAsync(WaitMs) ?? await bob.RecvAndAckAsync(WaitMs);
            if (message is null) Assert.Fail($"m{i} did not come: {await StateOfAsync(hives)}");
            var body = message!.Value.Deserialize<MessageView>(HiveJson.Options)!.Body;
            if (body != $"m{i}")
                Assert.Fail($"m{i} expected, {body} came: {await StateOfAsync(hives)}; {await LateArrivalsAsync(hives, count)}");
        }
        Assert.Null(await bob.RecvAsync(1000));
        Assert.Equal(count, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(DISTINCT body) FROM messages WHERE sender = 'alice@a'"));
        Assert.Equal(count, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM messages WHERE sender = 'alice@a'"));
        Assert.Equal(0, HiveInstance.QueryDb<long>(hives.A.DataDir, "SELECT count(*) FROM constellation_outbox WHERE sent_at IS NULL"));
    }

    [Fact]
    public async Task An_agent_with_allowed_recipients_takes_mail_from_another_hive_only_from_those_it_names()
    {
        await using var hives = await TwoHives.StartAsync(output);
        using (var http = hives.B.CreateClient())
            foreach (var (name, allowed) in new[] { ("gated", "alice@a"), ("strict", "bob") })
            {
                using var created = await http.PostAsJsonAsync("/api/agents", new { name, driver = "external", allowed_recipients = new[] { allowed } });
                Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
            }
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var gated = await hives.B.ConnectAsync("gated");
        await using var strict = await hives.B.ConnectAsync("strict");
        await using var bob = await hives.B.ConnectAsync("bob");

        var refused = await alice.SendAsync("strict@b", "let me in");
        await alice.SendAsync("gated@b", "named in your list");
        await alice.SendAsync("bob@b", "you have no list");
        await alice.SendAsync("operator@b", "the operator takes anything");

        var notice = (await alice.RecvAndAckMessageAsync(WaitMs))!;
        // recipient and remote_id are the notice's own fields: no record names them.
        Assert.Equal(("undeliverable", "hive@b", "strict@b"), (notice.Kind, notice.From, notice.Extra!["recipient"].GetString()));
        Assert.Contains("strict on hive b does not take mail from alice@a", notice.Body, StringComparison.Ordinal);
        var refusedOutboxId = HiveInstance.QueryDb<long>(hives.A.DataDir, "SELECT id FROM constellation_outbox WHERE message_id = @refused", new { refused });
        Assert.Equal($"a:{refusedOutboxId}", notice.Extra["remote_id"].GetString());
        Assert.Equal("named in your list", (await gated.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Equal("you have no list", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        await TwoHives.UntilAsync(() => Task.FromResult(HiveInstance.QueryDb<long>(hives.B.DataDir,
            "SELECT count(*) FROM messages WHERE sender = 'alice@a' AND recipient = 'operator'") == 1), "the operator's copy");
        Assert.Null(await strict.RecvAsync(500));
        Assert.Equal(0, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM messages WHERE recipient = 'strict'"));
        await hives.B.OutputContainsAsync("strict does not take mail from alice@a (allowed_recipients)");
    }

    /// <summary>For a test that saw mail out of order: whether the mail it skipped arrives later, and what b said of the pair.</summary>
    private static async Task<string> LateArrivalsAsync(TwoHives hives, int count)
    {
        var clock = Stopwatch.StartNew();
        long arrived() => HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(DISTINCT body) FROM messages WHERE sender = 'alice@a'");
        try { await TwoHives.UntilAsync(() => Task.FromResult(arrived() == count), "the rest", seconds: 180); }
        catch (TimeoutException) { }
        var inbound = string.Join(" | ", hives.B.Output.Split('\n').Where(l => l.Contains("constellation", StringComparison.Ordinal)).TakeLast(40));
        return $"after {clock.Elapsed.TotalSeconds:F0} s more b has {arrived()} of {count}: {await StateOfAsync(hives)}; b said: {inbound}";
    }

    /// <summary>Where the mail is, for a test that waited in vain.</summary>
    private static async Task<string> StateOfAsync(TwoHives hives) =>
        $"a's outbox unsent {HiveInstance.QueryDb<long>(hives.A.DataDir, "SELECT count(*) FROM constellation_outbox WHERE sent_at IS NULL")}, " +
        $"b took in {HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_inbox")} " +
        $"(last seq {HiveInstance.QueryDb<long?>(hives.B.DataDir, "SELECT next_seq - 1 FROM constellation_inbound_sequences WHERE from_hive = 'a'")}), " +
        $"held {HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_held")}, " +
        $"queues {(await hives.Node.RunCtlAsync("list_queues", "-q", "name", "messages_ready", "messages_unacknowledged", "consumers", "leader", "online")).ReplaceLineEndings(" ")}, " +
        $"consumers {(await hives.Node.RunCtlAsync("list_consumers", "-q")).ReplaceLineEndings(" | ")}, " +
        $"channels {(await hives.Node.RunCtlAsync("list_channels", "-q", "name", "confirm", "messages_unconfirmed", "messages_unacknowledged")).ReplaceLineEndings(" | ")}, " +
        $"connections {(await hives.Node.RunCtlAsync("list_connections", "-q", "name", "state")).ReplaceLineEndings(" | ")}";

    private static async Task PublishAsync(IChannel channel, string globalId, long seq, string body)
    {
        var envelope = JsonSerializer.Serialize(new { kind = "message", from = "alice@a", to = "bob@b", body, sent_at = "2026-11-23T22:00:00.000Z", seq });
        var properties = new BasicProperties { MessageId = globalId, UserId = "a", DeliveryMode = DeliveryModes.Persistent };
        await channel.BasicPublishAsync(TwoHives.Exchange, "b", mandatory: false, properties, Encoding.UTF8.GetBytes(envelope));
    }
}
