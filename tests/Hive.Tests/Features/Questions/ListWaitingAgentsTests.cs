using static Hive.Tests.Features.Questions.QuestionsHive;

namespace Hive.Tests.Features.Questions;

/// <summary>ListWaitingAgents: an agent's waiting_on/waiting_since in its row follow its oldest open question.</summary>
[Collection(QuestionsHive.Name)]
public sealed class ListWaitingAgentsTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Waiting_state_follows_the_oldest_open_question_and_clears()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(names[0]);
        await using var bob = await _hive.ConnectAsync(names[1]);
        var first = await AskAsync(alice, "to bob first", names[1]);
        var second = await AskAsync(alice, "then the operator");
        Assert.Equal(names[1], (await AgentRowAsync(_hive, names[0])).GetProperty("waiting_on").GetString());

        await bob.CallAsync(new { op = "answer", id = first, answer = "ok" });
        Assert.Equal("operator", (await AgentRowAsync(_hive, names[0])).GetProperty("waiting_on").GetString());
        using (await _hive.Http.PostAsJsonAsync($"/api/questions/{second}/answer", new { answer = "ok" })) { }
        var row = await AgentRowAsync(_hive, names[0]);
        Assert.Equal(JsonValueKind.Null, row.GetProperty("waiting_on").ValueKind);
        Assert.Equal(JsonValueKind.Null, row.GetProperty("waiting_since").ValueKind);
    }
}
