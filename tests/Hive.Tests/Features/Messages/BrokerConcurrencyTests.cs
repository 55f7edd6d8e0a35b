using System.Text.Json;
using Hive.Tests.Infrastructure;

namespace Hive.Tests.Features.Messages;

public sealed class BrokerConcurrencyTests : IAsyncLifetime
{
    private const int Agents = 16;
    private const int PerAgent = 200;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() =>
        _hive = await HiveInstance.StartAsync([.. Enumerable.Range(0, Agents).Select(i => $"agent-{i}"), "sink"]);

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    [Fact]
    public async Task Sixteen_agents_sending_200_each_at_once_lose_nothing_duplicate_nothing_and_keep_order()
    {
        var clients = new List<AgentClient>();
        for (var i = 0; i < Agents; i++) clients.Add(await _hive.ConnectAsync($"agent-{i}"));
        using var start = new SemaphoreSlim(0);

        var senders = clients.Select((client, i) => Task.Run(async () =>
        {
            await start.WaitAsync();
            var failures = new List<string>();
            for (var n = 0; n < PerAgent; n++)
            {
                var reply = await client.CallAsync(new { op = "send", to = "sink", body = $"agent-{i}:{n}" });
                if (!reply.GetProperty("ok").GetBoolean()) failures.Add(reply.ToString());
            }
            return failures;
        })).ToList();
        start.Release(Agents);
        var failures = (await Task.WhenAll(senders)).SelectMany(f => f).ToList();
        Assert.Empty(failures); // no SQLITE_BUSY (or anything else) reached a caller

        await using var sink = await _hive.ConnectAsync("sink");
        var bodies = new List<string>();
        while (await sink.RecvAsync() is { } message) bodies.Add(message.GetProperty("body").GetString()!);
        foreach (var client in clients) await client.DisposeAsync();

        Assert.Equal(Agents * PerAgent, bodies.Count);
        Assert.Equal(bodies.Count, bodies.Distinct().Count());
        foreach (var group in bodies.Select(b => b.Split(':')).GroupBy(p => p[0]))
            Assert.Equal(Enumerable.Range(0, PerAgent), group.Select(p => int.Parse(p[1])));
        Assert.Equal(Agents * PerAgent, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'sink' AND delivered_at IS NOT NULL"));
    }
}
