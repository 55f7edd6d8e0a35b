using Hive.Contracts.TurnStats;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// A real coding agent the hive runs in a test (Claude's and Codex's adapters, opencode, Gemini CLI), driven as the operator
/// drives one: a wake's message sent to it, its turns and log read, the hive's permission question answered, what it sent
/// another agent received. <paramref name="diagnostics"/> adds what a failure should show beside its log (the fake model's calls).
/// </summary>
public sealed class AgentUnderTest(HiveInstance hive, string name, Func<string>? diagnostics = null)
{
    /// <summary>How long a real agent may take over one step here (its start, a model call through the gateway) on a loaded machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    public string Name => name;

    public async Task SendAsync(string body)
    {
        using var sent = await hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body });
        Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
    }

    /// <summary>Its latest turn, once it has had <paramref name="count"/>.</summary>
    public async Task<TurnView> TurnAsync(int count)
    {
        TurnView[] turns = [];
        await HiveInstance.Until(() => (turns = hive.GetAsync<TurnView[]>($"/api/agents/{name}/turns").GetAwaiter().GetResult()).Length >= count,
            Patience, $"{name}'s turn {count}\n{Log()}");
        return turns[0];
    }

    /// <summary>The tail of its log, and the diagnostics.</summary>
    public string Log() => hive.Http.GetStringAsync($"/api/agents/{name}/logs?tail=80").GetAwaiter().GetResult()
        + (diagnostics is null ? "" : "\n" + diagnostics());

    /// <summary>The permission question the hive put to the operator for it, once there is one unanswered.</summary>
    public async Task<long> QuestionAsync()
    {
        long id = 0;
        await HiveInstance.Until(() => (id = hive.QueryDb<long>("SELECT coalesce(max(id), 0) FROM questions WHERE asker = 'hive' AND answered_at IS NULL")) > 0,
            Patience, $"{name}'s permission question\n{Log()}");
        return id;
    }

    public string QuestionText(long question) => hive.QueryDb<string>("SELECT question FROM questions WHERE id = @question", new { question });

    public async Task AnswerAsync(long question, string answer)
    {
        using var answered = await hive.Http.PostAsJsonAsync($"/api/questions/{question}/answer", new { answer });
        Assert.True(answered.IsSuccessStatusCode, await answered.Content.ReadAsStringAsync());
    }

    /// <summary>The message it sent <paramref name="recipient"/>, received (and acknowledged) as that agent.</summary>
    public async Task<JsonElement> ReceivedByAsync(string recipient)
    {
        await using var client = await hive.ConnectAsync(recipient);
        JsonElement? got = null;
        for (var i = 0; i < 6 && got is null; i++) got = await client.RecvAndAckAsync(30_000);
        return got ?? throw new TimeoutException($"{recipient} got nothing from {name} in 3 minutes\n{Log()}");
    }

    /// <summary>Whether a file of this name is anywhere in the hive's data dir (its work dir is in there).</summary>
    public bool Made(string file) => Directory.EnumerateFiles(hive.DataDir, file, SearchOption.AllDirectories).Any();
}
