using System.Diagnostics;
using System.Text;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using RabbitMQ.Client;

namespace Hive.Tests.Features.Constellation;

/// <summary>
/// Cross-hive mail, end to end: two hive processes and a real RabbitMQ on loopback; alice is on hive a, bob on
/// hive b. Waits are long-polls (<c>recv wait_ms</c>) or polls of state with deadlines.
/// </summary>
public sealed class CrossHiveMailTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int WaitMs = 30_000;


    [Fact]
    public async Task Alice_at_a_reaches_bob_at_b_once_with_her_whole_address_and_no_file_refs()
    {
        await using var hives = await TwoHives.StartAsync(output);
        // The same path exists on both hives: a ref would be found on either side if it crossed.
        foreach (var host in new[] { hives.A, hives.B })
        {
            Directory.CreateDirectory(Path.Combine(host.DataDir, "shared"));
            await File.WriteAllTextAsync(Path.Combine(host.DataDir, "shared", "plan.md"), "the plan");
        }
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");

        var sent = await alice.CallAsync(MessageVerbs.Send, new SendArgs("bob@b", "see /shared/plan.md", "c1", null));
        var id = sent.Id;
        // A retry with the same client id is the same send: the same id, nothing more relayed.
        var retried = await alice.CallAsync(MessageVerbs.Send, new SendArgs("bob@b", "see /shared/plan.md", "c1", null));
        Assert.Equal(id, retried.Id);

        var message = (await bob.RecvAndAckMessageAsync(WaitMs))!;
        Assert.Equal("alice@a", message.From);
        Assert.Equal("bob", message.To);
        Assert.Equal("see /shared/plan.md", message.Body);
        Assert.Empty(message.FileRefs);
        Assert.Equal("a:1", message.Extra!["remote_id"].GetString()); // the relay's own field: no record names it

        // bob@b seen from b is bob: a local send; and a marker sent after the retry proves nothing else was queued before it.
        Assert.True((await bob.CallAsync(MessageVerbs.Send, new SendArgs("bob@b", "to myself", null, null))).Id > 0);
        Assert.Equal("to myself", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        await alice.SendAsync("bob@b", "marker");
        Assert.Equal("marker", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Null(await bob.RecvAsync());
    }

    [Fact]
    public async Task A_send_while_the_broker_is_down_is_acknowledged_at_once_and_arrives_after_it_restarts()
    {
        await using var hives = await TwoHives.StartAsync(output);
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");
        await hives.Node.StopAsync();

        // Acknowledged while the broker is still down (it comes back only below): they did not wait for the network.
        await alice.SendAsync("bob@b", "first while down");
        await alice.SendAsync("bob@b", "second while down");
        // Local mail is unaffected meanwhile.
        await alice.SendAsync("alice", "local");
        Assert.Equal("local", (await alice.RecvAndAckMessageAsync(WaitMs))!.Body);

        await hives.Node.RestartAsync();
        Assert.Equal("first while down", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Equal("second while down", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
    }

    [Fact]
    public async Task A_replayed_AMQP_delivery_is_taken_in_once()
    {
        await using var hives = await TwoHives.StartAsync(output);
        await using var bob = await hives.B.ConnectAsync("bob");
        await using var connection = await hives.ConnectAsAsync("a");
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));

        await PublishAsync(channel, "a:9001", "replayed");
        await PublishAsync(channel, "a:9001", "replayed");
        await channel.BasicPublishAsync(TwoHives.Exchange, "b", mandatory: false,
            new BasicProperties { MessageId = "a:9004", UserId = "a", DeliveryMode = DeliveryModes.Persistent }, Encoding.UTF8.GetBytes("{not json")); // poison
        await PublishAsync(channel, "a:9002", "after"); // the queue is in order: once this is in, the copy and the poison were handled

        Assert.Equal("replayed", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Equal("after", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Null(await bob.RecvAsync());
        Assert.Equal([("a:9004", "unparseable")], HiveInstance.QueryDbList<(string, string)>(hives.B.DataDir,
            "SELECT global_id, reason FROM constellation_dead_letters"));
        Assert.Equal(2, HiveInstance.QueryDbList<string>(hives.B.DataDir, "SELECT global_id FROM constellation_inbox").Count);
        // Nothing left on b's queue: the poison was acknowledged, not redelivered forever.
        await TwoHives.UntilAsync(async () => (await hives.Node.RunCtlAsync("list_queues", "-q", "name", "messages")).Split('\n')
            .Any(l => l.Split('\t') is ["b", "0"]), "b's queue to be empty");
    }

    [Fact]
    public async Task Mail_published_under_another_hives_name_is_refused()
    {
        await using var hives = await TwoHives.StartAsync(output);
        await using var bob = await hives.B.ConnectAsync("bob");
        await using var connection = await hives.ConnectAsAsync("a");
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));

        await PublishAsync(channel, "c:1", "forged", from: "carol@c"); // user a, claiming hive c
        await PublishAsync(channel, "a:9003", "genuine");

        Assert.Equal("genuine", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Null(await bob.RecvAsync());
        await TwoHives.UntilAsync(() => Task.FromResult(hives.B.Output.Contains("refused message c:1", StringComparison.Ordinal)), "b to log the refusal");
        var (globalId, reason) = Assert.Single(HiveInstance.QueryDbList<(string, string)>(hives.B.DataDir, "SELECT global_id, reason FROM constellation_dead_letters"));
        Assert.Equal("c:1", globalId);
        Assert.StartsWith("refused: user a published as carol@c", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mail_for_an_unknown_agent_or_hive_comes_back_to_alice_as_an_undeliverable_notice()
    {
        await using var hives = await TwoHives.StartAsync(output);
        await using var alice = await hives.A.ConnectAsync("alice");

        await alice.SendAsync("nobody@b", "anyone there?");

        var notice = (await alice.RecvAndAckMessageAsync(WaitMs))!;
        Assert.Equal("undeliverable", notice.Kind);
        Assert.Equal("hive@b", notice.From);
        Assert.Equal("nobody@b", notice.Extra!["recipient"].GetString()); // the notice's own field: no record names it
        Assert.Contains("no agent named nobody on hive b", notice.Body, StringComparison.Ordinal);

        // A hive no one runs: the broker returns it, and hive a itself tells alice.
        var lost = await alice.SendAsync("bob@nowhere", "hello?");
        var returned = (await alice.RecvAndAckMessageAsync(WaitMs))!;
        Assert.Equal(("undeliverable", "hive"), (returned.Kind, returned.From));
        Assert.Equal(lost, returned.Extra!["message_id"].GetInt64());
        Assert.Contains("no hive named nowhere", returned.Body, StringComparison.Ordinal);
    }

    // After a broker restart a quorum queue can take a while to take mail again, and the broker returns what is routed to
    // it meanwhile: for a hive heard from, that is a wait, not an undeliverable notice (mail was lost this way before).
    [Fact]
    public async Task Mail_the_broker_returns_for_a_hive_heard_from_waits_in_the_outbox_and_arrives()
    {
        await using var hives = await TwoHives.StartAsync(output);
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");
        await TwoHives.UntilAsync(() => Task.FromResult(HiveInstance.QueryDb<long>(hives.A.DataDir,
            "SELECT count(*) FROM constellation_hives WHERE name = 'b'") == 1), "a to hear from b");
        await using var admin = await new ConnectionFactory { HostName = "127.0.0.1", Port = hives.Node.AmqpPort, AutomaticRecoveryEnabled = false }.CreateConnectionAsync();
        await using var channel = await admin.CreateChannelAsync();
        await channel.QueueUnbindAsync("b", TwoHives.Exchange, "b");

        await alice.SendAsync("bob@b", "wait for me");
        await TwoHives.UntilAsync(() => Task.FromResult(hives.A.Output.Contains("the broker returned mail for hive b", StringComparison.Ordinal)),
            "the broker to return it");
        Assert.Equal(1, HiveInstance.QueryDb<long>(hives.A.DataDir, "SELECT count(*) FROM constellation_outbox WHERE sent_at IS NULL"));

        await channel.QueueBindAsync("b", TwoHives.Exchange, "b");
        Assert.Equal("wait for me", (await bob.RecvAndAckMessageAsync(WaitMs))!.Body);
        Assert.Null(await alice.RecvAsync(500));
        Assert.DoesNotContain("no hive named b", hives.A.Output, StringComparison.Ordinal);
    }

    private static async Task PublishAsync(IChannel channel, string globalId, string body, string from = "alice@a")
    {
        var envelope = JsonSerializer.Serialize(new { kind = "message", from, to = "bob@b", body, sent_at = "2026-11-23T22:00:00.000Z" });
        var properties = new BasicProperties { MessageId = globalId, UserId = "a", DeliveryMode = DeliveryModes.Persistent };
        await channel.BasicPublishAsync(TwoHives.Exchange, "b", mandatory: false, properties, Encoding.UTF8.GetBytes(envelope));
    }
}
