namespace Hive.Tests.Features.Questions;

/// <summary>The one hive the Questions slice tests share; its classes run one after another, each test on agents of its own.</summary>
[CollectionDefinition(Name)]
public sealed class QuestionsHive : ICollectionFixture<HiveFixture>
{
    public const string Name = "Questions";

    /// <summary>Asks and returns the id; <paramref name="extra"/>'s properties (options, multi, ttl_seconds) join the request.</summary>
    public static async Task<long> AskAsync(AgentClient agent, string question, string? to = null, object? extra = null)
    {
        var request = new Dictionary<string, object?> { ["op"] = "ask", ["question"] = question };
        if (to is not null) request["to"] = to;
        if (extra is not null)
            foreach (var property in System.Text.Json.JsonSerializer.SerializeToElement(extra).EnumerateObject()) request[property.Name] = property.Value;
        var reply = await agent.CallAsync(request);
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        return reply.GetProperty("id").GetInt64();
    }

    public static async Task<System.Text.Json.JsonElement> AgentRowAsync(HiveInstance hive, string name) =>
        (await hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);
}
