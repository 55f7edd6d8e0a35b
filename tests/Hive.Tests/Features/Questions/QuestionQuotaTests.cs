using Hive.Shared.Errors;

namespace Hive.Tests.Features.Questions;

/// <summary>One agent cannot pile up open questions.</summary>
public sealed class QuestionQuotaTests
{
    [Fact]
    public async Task Open_questions_past_the_quota_are_refused_with_too_many_until_one_is_answered()
    {
        const int quota = 100; // the default
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"]);
        await using var alice = await hive.ConnectAsync("alice");
        long first = 0;
        for (var i = 0; i < quota; i++)
        {
            var reply = await alice.CallAsync(new { op = "ask", question = $"q{i}", to = i % 2 == 0 ? null : "bob" });
            Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
            if (i == 0) first = reply.GetProperty("id").GetInt64();
        }
        var refused = await alice.CallAsync(new { op = "ask", question = "one too many" });
        Assert.False(refused.GetProperty("ok").GetBoolean());
        Assert.Equal(ErrorCodes.TooMany, refused.GetProperty("code").GetString());
        Assert.Equal(quota, hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = 'alice'"));

        // Another agent has its own quota.
        await using var bob = await hive.ConnectAsync("bob");
        Assert.True((await bob.CallAsync(new { op = "ask", question = "mine" })).GetProperty("ok").GetBoolean());

        using (var answered = await hive.Http.PostAsJsonAsync($"/api/questions/{first}/answer", new { answer = "yes" }))
            answered.EnsureSuccessStatusCode();
        Assert.True((await alice.CallAsync(new { op = "ask", question = "now there is room" })).GetProperty("ok").GetBoolean());
        Assert.Equal(ErrorCodes.TooMany, (await alice.CallAsync(new { op = "ask", question = "full again" })).GetProperty("code").GetString());
    }
}
