using System.Text;
using RabbitMQ.Client;

namespace Hive.Tests.Features.Constellation;

/// <summary>
/// Another hive's mail is a claim. What hive a publishes to b's queue meets every limit a local send
/// meets (a body over 1 KiB is refused back to a's sender, an envelope far over it is kept as a dead letter), and b takes
/// an undeliverable notice only about mail it sent to a. Forged by publishing by hand as hive a's own RabbitMQ user.
/// </summary>
public sealed class HostileHiveTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int WaitMs = 30_000;

    [Fact]
    public async Task Mail_over_a_local_sends_limits_is_not_delivered_and_never_rides_in_the_state()
    {
        await using var hives = await TwoHives.StartAsync(output);
        await using var bob = await hives.B.ConnectAsync("bob");
        await using var connection = await hives.ConnectAsAsync("a");
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));

        var huge = "h" + new string('x', 1024 * 1024);
        var over = "o" + new string('y', 1024);
        await PublishAsync(channel, "a:9101", new { kind = "message", from = "alice@a", to = "bob@b", body = huge, sent_at = "2026-11-23T22:00:00.000Z" });
        await PublishAsync(channel, "a:9102", new { kind = "message", from = "alice@a", to = "bob@b", body = over, sent_at = "2026-11-23T22:00:00.000Z" });
        await PublishAsync(channel, "a:9103", new { kind = "message", from = "alice@a", to = "bob@b", body = "within the limits", sent_at = "2026-11-23T22:00:00.000Z" });

        Assert.Equal("within the limits", (await bob.RecvAndAckAsync(WaitMs))!.Value.GetProperty("body").GetString());
        Assert.Null(await bob.RecvAsync(500));
        Assert.Equal(0, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM messages WHERE length(body) > 1024"));
        using (var http = hives.B.CreateClient())
        {
            var state = await http.GetStringAsync("/api/state");
            Assert.DoesNotContain("xxxxxxxxxx", state, StringComparison.Ordinal);
            Assert.DoesNotContain("yyyyyyyyyy", state, StringComparison.Ordinal);
        }
        // The one over a local send's limit goes back to its sender as undeliverable, saying which limit.
        await TwoHives.UntilAsync(() => Task.FromResult(HiveInstance.QueryDb<long>(hives.B.DataDir,
            "SELECT count(*) FROM constellation_outbox WHERE destination = 'a' AND kind = 'undeliverable' AND payload LIKE '%\"a:9102\"%' AND payload LIKE '%limited to 1024 UTF-8 bytes%'") == 1),
            "b's notice about a:9102");
        // The far larger one is never parsed: a dead letter, said in the log.
        Assert.Equal(1, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_dead_letters WHERE global_id = 'a:9101' AND reason LIKE 'refused:%'"));
        await hives.B.OutputContainsAsync("over the 16384 an envelope may be");
    }

    [Fact]
    public async Task An_undeliverable_notice_about_mail_b_never_sent_to_a_is_ignored()
    {
        await using var hives = await TwoHives.StartAsync(output);
        await using var bob = await hives.B.ConnectAsync("bob");
        await using var connection = await hives.ConnectAsAsync("a");
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));

        foreach (var (id, to, about) in new[] { ("a:9201", "bob@b", "b:4242"), ("a:9202", "operator@b", "b:4243"), ("a:9203", "bob@b", "elsewhere:1") })
            await PublishAsync(channel, id, new
            {
                kind = "undeliverable", from = "hive@a", to, body = "your mail to carol@a was not delivered",
                sent_at = "2026-11-23T22:00:00.000Z", about, recipient = "carol@a"
            });
        await PublishAsync(channel, "a:9204", new { kind = "message", from = "alice@a", to = "bob@b", body = "after the notices", sent_at = "2026-11-23T22:00:00.000Z" });

        Assert.Equal("after the notices", (await bob.RecvAndAckAsync(WaitMs))!.Value.GetProperty("body").GetString());
        Assert.Null(await bob.RecvAsync(500));
        Assert.Equal(0, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM messages WHERE kind = 'undeliverable'"));
        Assert.Equal(3, HiveInstance.QueryDb<long>(hives.B.DataDir, "SELECT count(*) FROM constellation_dead_letters WHERE global_id IN ('a:9201', 'a:9202', 'a:9203')"));
        await hives.B.OutputContainsAsync("ignored an undeliverable notice a:9201 from hive a");
    }

    private static async Task PublishAsync(IChannel channel, string globalId, object envelope)
    {
        var properties = new BasicProperties { MessageId = globalId, UserId = "a", DeliveryMode = DeliveryModes.Persistent };
        await channel.BasicPublishAsync(TwoHives.Exchange, "b", mandatory: false, properties, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(envelope)));
    }
}
