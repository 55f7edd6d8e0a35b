namespace Hive.Tests.Features.Questions;

/// <summary>AskQuestion: a bad ask gets a clear error with a code and stores nothing.</summary>
[Collection(QuestionsHive.Name)]
public sealed class AskQuestionTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    /// <summary>{alice} is the asker itself, {bob} another agent of the test.</summary>
    public static TheoryData<string, string> BadAsks => new()
    {
        { """{"op":"ask","question":""}""", "validation" },
        { """{"op":"ask"}""", "validation" },
        { """{"op":"ask","question":"LARGE"}""", "too_large" },
        { """{"op":"ask","question":"me?","to":"{alice}"}""", "validation" },
        { """{"op":"ask","question":"who?","to":"nobody"}""", "not_found" },
        { """{"op":"ask","question":"who?","to":"../{bob}"}""", "not_found" },
        { """{"op":"ask","question":42}""", "bad_request" },
        { """{"op":"ask","question":"x","to":["{bob}"]}""", "bad_request" },
    };

    [Theory]
    [MemberData(nameof(BadAsks))]
    public async Task Bad_socket_asks_get_an_error_and_change_nothing(string line, string code)
    {
        var agents = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(agents[0]);
        var reply = await alice.CallRawAsync(line.Replace("LARGE", new string('q', 1025)).Replace("{alice}", agents[0]).Replace("{bob}", agents[1]));
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = @alice OR target = @bob", new { alice = agents[0], bob = agents[1] }));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender IN (@alice, @bob) OR recipient IN (@alice, @bob)", new { alice = agents[0], bob = agents[1] }));
    }
}
