namespace Hive.Tests.Features.Messages;

/// <summary>ListInbox: what agents sent to the operator, newest first.</summary>
[Collection(MessagesHive.Name)]
public sealed class ListInboxTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Messages_to_the_operator_fill_the_inbox_newest_first()
    {
        var agents = await _hive.NewAgentsAsync("bob", "alice");
        await using var bob = await _hive.ConnectAsync(agents[0]);
        var first = await bob.SendAsync("operator", "inbox one");
        var second = await bob.SendAsync("operator", "inbox two");
        var other = await bob.SendAsync(agents[1], "not for the operator");

        var inbox = await _hive.GetJsonAsync("/api/inbox");
        var ids = inbox.EnumerateArray().Select(m => m.GetProperty("id").GetInt64()).ToList();
        Assert.Equal([second, first], ids.Where(i => i == first || i == second));
        Assert.DoesNotContain(other, ids);
        Assert.All(inbox.EnumerateArray(), m => Assert.Equal("operator", m.GetProperty("to").GetString()));
        Assert.All(inbox.EnumerateArray(), m => Assert.Equal(JsonValueKind.Array, m.GetProperty("file_refs").ValueKind));
    }
}
