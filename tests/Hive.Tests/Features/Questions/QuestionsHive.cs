using Hive.Tests.Infrastructure;

namespace Hive.Tests.Features.Questions;

/// <summary>The one hive the Questions slice tests share; its classes run one after another, each test on agents of its own.</summary>
[CollectionDefinition(Name)]
public sealed class QuestionsHive : ICollectionFixture<HiveFixture>
{
    public const string Name = "Questions";

    public static async Task<long> AskAsync(AgentClient agent, string question, string? to = null)
    {
        var reply = await agent.CallAsync(to is null ? new { op = "ask", question } : new { op = "ask", question, to });
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        return reply.GetProperty("id").GetInt64();
    }

    public static async Task<System.Text.Json.JsonElement> AgentRowAsync(HiveInstance hive, string name) =>
        (await hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);
}
