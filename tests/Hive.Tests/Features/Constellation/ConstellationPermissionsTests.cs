using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Hive.Tests.Features.Constellation;

/// <summary>
/// What a hive's RabbitMQ user cannot do, set up as docs/operator/constellation.md says: read another hive's mail by binding its
/// own queue under the other's name, read another hive's queue, or delete the exchanges every hive needs. The hives
/// themselves run with those rights (their declares fall back to passive ones) and mail flows.
/// </summary>
public sealed class ConstellationPermissionsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task A_hive_cannot_bind_to_another_hives_mail_read_its_queue_or_delete_the_exchanges()
    {
        await using var hives = await TwoHives.StartAsync(output);
        await using var connection = await hives.ConnectAsAsync("a");

        await AssertRefusedAsync(connection, channel => channel.QueueBindAsync("a", TwoHives.Exchange, "b"));
        await AssertRefusedAsync(connection, async channel => await channel.BasicGetAsync("b", autoAck: true));
        await AssertRefusedAsync(connection, channel => channel.ExchangeDeleteAsync(TwoHives.Exchange));
        await AssertRefusedAsync(connection, channel => channel.ExchangeDeleteAsync("hive.heartbeats"));

        // Meanwhile the hives run on these rights: mail goes both ways.
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");
        await alice.SendAsync("bob@b", "hello b");
        Assert.Equal("hello b", (await bob.RecvAndAckAsync(30_000))!.Value.GetProperty("body").GetString());
        await bob.SendAsync("alice@a", "hello a");
        Assert.Equal("hello a", (await alice.RecvAndAckAsync(30_000))!.Value.GetProperty("body").GetString());
    }

    [Fact]
    public async Task A_hive_given_several_broker_nodes_connects_to_the_first_that_answers()
    {
        var dead = HostProcess.FreePort(); // nothing listens there: a cluster node that is down
        await using var hives = await TwoHives.StartAsync(output, hive => hive == "b"
            ? ["--Hive:Constellation:Broker:Host", $"127.0.0.1:{dead}", "--Hive:Constellation:Broker:Hosts:0", "127.0.0.1"]
            : []);
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");
        await alice.SendAsync("bob@b", "through the second node");
        Assert.Equal("through the second node", (await bob.RecvAndAckAsync(30_000))!.Value.GetProperty("body").GetString());
        await bob.SendAsync("alice@a", "and back");
        Assert.Equal("and back", (await alice.RecvAndAckAsync(30_000))!.Value.GetProperty("body").GetString());
    }

    /// <summary>The broker closes the channel with 403 ACCESS_REFUSED.</summary>
    private static async Task AssertRefusedAsync(IConnection connection, Func<IChannel, Task> attempt)
    {
        await using var channel = await connection.CreateChannelAsync();
        var refused = await Assert.ThrowsAsync<OperationInterruptedException>(() => attempt(channel));
        Assert.Equal((ushort)Constants.AccessRefused, refused.ShutdownReason?.ReplyCode);
    }
}
