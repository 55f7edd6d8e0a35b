using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Contracts.Questions;
using Hive.Features.Search;

namespace Hive.Tests.Features.Search;

/// <summary>
/// The index behind its writers, on the built host as a child process: with the indexer switched off
/// (<c>Hive:Search:Indexing</c> false) a send is stored and acknowledged, and search finds nothing yet and says how far behind
/// it is; a SIGKILL then, before anything was indexed, and a host started with the indexer on indexes every text the
/// killed one stored, each exactly once. A burst of sends is waited out, but no longer than <c>Hive:Search:MaxDelayMs</c>:
/// a message becomes searchable while the sends around it go on.
/// </summary>
public sealed class SearchBehindTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-search-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    private static async Task<FindText.Page> SearchAsync(HostProcess host, string query)
    {
        using var http = host.CreateClient();
        using var response = await http.GetAsync("/api/search?" + query);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize<FindText.Page>(body, HiveJson.Options)!;
    }

    [Fact]
    public async Task Texts_stored_before_a_SIGKILL_and_never_indexed_are_indexed_once_after_restart()
    {
        var sent = new List<long>();
        long asked;
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"], extraArgs: ["--Hive:Search:Indexing", "false"]))
        {
            await using var alice = await host.ConnectAsync("alice");
            await using var bob = await host.ConnectAsync("bob");
            var before = DateTimeOffset.UtcNow.AddSeconds(-1);
            for (var i = 0; i < 3; i++) sent.Add(await alice.SendAsync("bob", $"the capybara number {i}"));
            asked = (await alice.CallAsync(QuestionVerbs.Ask, new AskArgs("where did the capybara go?", "bob", null, null, null))).Id;
            await bob.CallAsync(QuestionVerbs.Answer, new AnswerArgs(asked, "the capybara went swimming"));

            // Stored, acknowledged, not searchable: the page says so. Three messages, the question, its answer, and the
            // answer's message to the asker.
            var behind = await SearchAsync(host, "q=capybara");
            Assert.Empty(behind.Results);
            Assert.Equal(6, behind.Behind?.Texts);
            Assert.InRange(behind.Behind!.Since, before, DateTimeOffset.UtcNow);
            Assert.Equal(4, (await SearchAsync(host, "q=capybara&kind=message")).Behind?.Texts);
            Assert.Equal(1, (await SearchAsync(host, "q=capybara&kind=answer")).Behind?.Texts);

            await host.KillAsync();
        }

        await using var restarted = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]);
        var page = await SearchAsync(restarted, "q=capybara");
        await HiveInstance.UntilAsync(async () => (page = await SearchAsync(restarted, "q=capybara")).Behind is null, Deadline, "the indexer to catch up");

        Assert.Equal(6, page.Results.Count);
        Assert.Equal(page.Results.Count, page.Results.Select(h => (h.Kind, h.Ref)).Distinct().Count());
        Assert.Equal(sent, page.Results.Where(h => h.Kind == "message" && h.Snippet.Any(p => p.Text.Contains("number", StringComparison.Ordinal)))
            .Select(h => h.Ref).Order());
        Assert.Equal([("answer", asked), ("question", asked)], page.Results.Where(h => h.Kind != "message").Select(h => (h.Kind, h.Ref)).Order());
        Assert.Equal(6, HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM search_text WHERE search_text MATCH 'capybara'"));
        Assert.Equal(HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM search_entries"), HiveInstance.QueryDb<long>(_dataDir, "SELECT count(*) FROM search_text"));
    }

    [Fact]
    public async Task A_message_becomes_searchable_while_a_burst_of_sends_goes_on()
    {
        // The quiet window is longer than any gap between these sends, so only the bound ends the indexer's wait.
        await using var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"],
            extraArgs: ["--Hive:Search:DelayMs", "1000", "--Hive:Search:MaxDelayMs", "1500"]);
        await using var alice = await host.ConnectAsync("alice");
        var first = await alice.SendAsync("bob", "the wombat leads the burst");

        // One send at a time takes a commit and a round trip (well over 30 µs), so these outlast the 1.5 s bound many
        // times on any machine; with no bound the wait would last as long as they do.
        const int BurstCap = 50_000;
        var sent = 0;
        FindText.Page page;
        do
        {
            for (var i = 0; i < 10; i++, sent++) await alice.SendAsync("bob", $"filler {sent}");
            page = await SearchAsync(host, "q=wombat");
        }
        while (page.Results.Count == 0 && sent < BurstCap);

        Assert.Equal([first], page.Results.Select(h => h.Ref));
        Assert.True(sent < BurstCap, "the burst ended before the first message was indexed");
    }
}
