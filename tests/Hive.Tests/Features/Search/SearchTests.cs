using System.Net;
using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Questions;
using Hive.Features.Messages;
using Hive.Features.Search;

namespace Hive.Tests.Features.Search;

/// <summary>
/// <c>GET /api/search</c> finds a word of a message, a question and an answer, filters on <c>agent=</c>
/// (either side) and <c>kind=</c>, pages with <c>before</c>, marks hits in its snippets, refuses bad input with a 400, and
/// forgets what retention removed. A hive of its own with a fast sweep, so retention runs for real. The index is behind
/// its writers: each search here waits (with a deadline) until its page says nothing is left to index.
/// </summary>
public sealed class SearchTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob", "carol"],
        "--Hive:Messages:RetainDays", "30", "--Hive:Messages:RetentionSweepMinutes", "0.01",
        "--Hive:TurnStats:RetainDays", "30", "--Hive:TurnStats:RetentionSweepMinutes", "0.01");

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    /// <summary>The page once everything stored is indexed (its <c>behind</c> null), polled until a deadline.</summary>
    private async Task<JsonElement> SearchAsync(string query)
    {
        var page = await SearchNowAsync(query);
        await HiveInstance.UntilAsync(async () => (page = await SearchNowAsync(query)).GetProperty("behind").ValueKind == JsonValueKind.Null,
            TimeSpan.FromSeconds(30), "the indexer to catch up");
        return page;
    }

    private async Task<JsonElement> SearchNowAsync(string query)
    {
        using var response = await _hive.Http.GetAsync("/api/search?" + query);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}"
            + string.Join("\n", _hive.Logs.Lines.Where(l => l.ToString()!.Contains("xception")).Select(l => l.ToString())));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static FindText.Page Page(JsonElement page) => page.Deserialize<FindText.Page>(HiveJson.Options)!;

    private static List<(string Kind, long Ref, string From, string? To, string Snippet)> Hits(JsonElement page) =>
        Page(page).Results.Select(h => (h.Kind, h.Ref, h.From, h.To, string.Concat(h.Snippet.Select(p => p.Hit ? $"[{p.Text}]" : p.Text)))).ToList();

    [Fact]
    public void Fts5_is_in_the_bundled_sqlite()
    {
        Assert.Equal(1, _hive.QueryDb<long>("CREATE VIRTUAL TABLE temp.probe USING fts5(x); INSERT INTO temp.probe VALUES ('hello'); SELECT count(*) FROM temp.probe WHERE probe MATCH 'hello';"));
    }

    [Fact]
    public async Task Search_finds_a_message_a_question_and_an_answer_with_marked_snippets()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var sent = await alice.SendAsync("bob", "the aardvark manifest is ready for review");
        var asked = (await alice.CallAsync(QuestionVerbs.Ask, new AskArgs("where is the zeppelin config?", "bob", null, null, null))).Id;
        await bob.CallAsync(QuestionVerbs.Answer, new AnswerArgs(asked, "under the quokka directory"));

        var message = Hits(await SearchAsync("q=aardvark"));
        Assert.Equal([("message", sent, "alice", "bob", "the [aardvark] manifest is ready for review")], message);
        var question = Hits(await SearchAsync("q=zeppelin"));
        Assert.Equal([("question", asked, "alice", "bob", "where is the [zeppelin] config?")], question);
        // The answer is found as the question's answer (answerer to asker) and as the message that told the asker.
        var answer = Hits(await SearchAsync("q=quokka"));
        Assert.Contains(("answer", asked, "bob", "alice", "under the [quokka] directory"), answer);
        Assert.Equal(["answer", "message"], answer.Select(h => h.Kind).Order());
        Assert.Equal([("answer", asked, "bob", "alice", "under the [quokka] directory")], Hits(await SearchAsync("q=quokka&kind=answer")));
        // Every word must appear; a prefix with *; case, quotes and FTS5 syntax are no matter (typed text is only words).
        Assert.Single(Hits(await SearchAsync("q=" + Uri.EscapeDataString("Aardvark REVIEW"))));
        Assert.Empty(Hits(await SearchAsync("q=" + Uri.EscapeDataString("aardvark zeppelin"))));
        Assert.Single(Hits(await SearchAsync("q=" + Uri.EscapeDataString("aardv*"))));
        Assert.Single(Hits(await SearchAsync("q=" + Uri.EscapeDataString("\"aardvark\" (review: *"))));
    }

    [Fact]
    public async Task Search_finds_a_word_of_a_transcript_by_its_agent()
    {
        await using var bob = await _hive.ConnectAsync("bob");
        AgentClient.Ok(await bob.CallAsync(new { op = "transcript", entries = new[] { new { kind = "text", text = "I found the wombat in the logs" } } }));

        var hit = Assert.Single(Hits(await SearchAsync("q=wombat")));
        Assert.Equal(("transcript", "bob", (string?)null, "I found the [wombat] in the logs"), (hit.Kind, hit.From, hit.To, hit.Snippet));
        Assert.Single(Hits(await SearchAsync("q=wombat&agent=bob&kind=transcript")));
        Assert.Empty(Hits(await SearchAsync("q=wombat&agent=alice")));
    }

    [Fact]
    public async Task Agent_filters_on_either_side_and_kind_on_what_it_is()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        await using var carol = await _hive.ConnectAsync("carol");
        var ab = await alice.SendAsync("bob", "pelican one");
        var bc = await bob.SendAsync("carol", "pelican two");
        var ca = await carol.SendAsync("alice", "pelican three");

        Assert.Equal([ca, ab], Hits(await SearchAsync("q=pelican&agent=alice")).Select(h => h.Ref));
        Assert.Equal([bc, ab], Hits(await SearchAsync("q=pelican&agent=bob")).Select(h => h.Ref));
        Assert.Empty(Hits(await SearchAsync("q=pelican&agent=nobody")));
        Assert.Empty(Hits(await SearchAsync("q=pelican&kind=question")));
        Assert.Equal(3, Hits(await SearchAsync("q=pelican&kind=message")).Count);
    }

    [Fact]
    public async Task Pages_go_newest_first_and_the_cursor_is_stable()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var ids = new List<long>();
        for (var i = 0; i < 5; i++) ids.Add(await alice.SendAsync("bob", $"walrus number {i}"));

        var first = await SearchAsync("q=walrus&limit=2");
        Assert.Equal([ids[4], ids[3]], Hits(first).Select(h => h.Ref));
        await alice.SendAsync("bob", "walrus arriving late"); // a newer hit does not shift the next pages
        var before = Page(first).NextBefore!.Value;
        var second = await SearchAsync($"q=walrus&limit=2&before={before}");
        Assert.Equal([ids[2], ids[1]], Hits(second).Select(h => h.Ref));
        var third = await SearchAsync($"q=walrus&limit=2&before={Page(second).NextBefore!.Value}");
        Assert.Equal([ids[0]], Hits(third).Select(h => h.Ref));
        Assert.Equal(JsonValueKind.Null, third.GetProperty("next_before").ValueKind); // present and null: raw
    }

    [Theory]
    [InlineData("", "q: give some words")]
    [InlineData("q=", "q: give some words")]
    [InlineData("q=%20%20", "q: give some words")]
    [InlineData("q=%22%22%20*%20-", "q: give at least one word")]
    [InlineData("q=x&kind=sandwich", "kind must be one of answer, message, question, transcript")]
    [InlineData("q=x&limit=0", "limit must be 1 to 100")]
    [InlineData("q=x&limit=101", "limit must be 1 to 100")]
    [InlineData("q=x&limit=-3", "query parameter 'limit'")]
    [InlineData("q=x&q=y", "query parameter 'q' must be given once")]
    public async Task Bad_input_is_a_problem_400(string query, string says)
    {
        using var response = await _hive.Http.GetAsync("/api/search?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(says, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_query_too_long_is_a_400()
    {
        using var response = await _hive.Http.GetAsync("/api/search?q=" + new string('a', 201));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("at most 200 characters", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Search_forgets_what_retention_removed()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var old = await alice.SendAsync("bob", "the narwhal of old");
        var young = await alice.SendAsync("bob", "the narwhal of today");
        Assert.Equal(2, Hits(await SearchAsync("q=narwhal")).Count);
        var retention = _hive.Service<MessageRetention>();
        var before = retention.Deleted;
        var ago = DateTimeOffset.UtcNow.AddDays(-45).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        _hive.ExecuteDb($"UPDATE messages SET sent_at = '{ago}', delivered_at = '{ago}', delivery_count = 1 WHERE id = {old}");

        await HiveInstance.Until(() => retention.Deleted > before, TimeSpan.FromSeconds(30), "the sweep");

        Assert.Equal([young], Hits(await SearchAsync("q=narwhal")).Select(h => h.Ref));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM search_entries WHERE kind = 'message' AND ref = @old", new { old }));
        Assert.Equal(_hive.QueryDb<long>("SELECT count(*) FROM search_entries"), _hive.QueryDb<long>("SELECT count(*) FROM search_text"));
    }

    [Fact]
    public async Task Search_forgets_a_transcript_entry_retention_removed()
    {
        await using var carol = await _hive.ConnectAsync("carol");
        AgentClient.Ok(await carol.CallAsync(new { op = "transcript", entries = new[] { new { kind = "text", text = "an old dingo" }, new { kind = "text", text = "a young dingo" } } }));
        var old = _hive.QueryDb<long>("SELECT id FROM transcript_entries WHERE text = 'an old dingo'");
        Assert.Equal(2, Hits(await SearchAsync("q=dingo")).Count);
        var ago = DateTimeOffset.UtcNow.AddDays(-45).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        _hive.ExecuteDb($"UPDATE transcript_entries SET at = '{ago}' WHERE id = {old}");

        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM transcript_entries WHERE id = @old", new { old }) == 0,
            TimeSpan.FromSeconds(30), "the turn retention sweep");

        Assert.Equal(["a young [dingo]"], Hits(await SearchAsync("q=dingo")).Select(h => h.Snippet));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM search_entries WHERE kind = 'transcript' AND ref = @old", new { old }));
    }

    [Fact]
    public async Task A_send_is_stored_while_the_index_refuses_and_found_once_it_accepts()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        // A fault injected from outside: the index refuses every entry. The send does not index, so it is stored all the same.
        _hive.ExecuteDb("CREATE TRIGGER refuse_index BEFORE INSERT ON search_entries BEGIN SELECT RAISE(ABORT, 'index refused'); END;");
        long early;
        try
        {
            early = await alice.SendAsync("bob", "the lemur that waited");
            var waiting = Page(await SearchNowAsync("q=lemur"));
            Assert.Empty(waiting.Results);
            Assert.Equal(1, waiting.Behind?.Texts);
        }
        finally
        {
            _hive.ExecuteDb("DROP TRIGGER refuse_index;");
        }
        var kept = await alice.SendAsync("bob", "the lemur that is"); // its wake brings the indexer past both
        Assert.Equal([kept, early], Hits(await SearchAsync("q=lemur")).Select(h => h.Ref));
    }

    [Fact]
    public async Task A_row_given_a_removed_rows_id_is_still_indexed()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var first = await alice.SendAsync("bob", "the first gecko");
        var last = await alice.SendAsync("bob", "the last gecko");
        Assert.Equal(2, Hits(await SearchAsync("q=gecko")).Count);
        var retention = _hive.Service<MessageRetention>();
        var before = retention.Deleted;
        var ago = DateTimeOffset.UtcNow.AddDays(-45).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        // Every message old and delivered: the sweep empties the table, and messages (no AUTOINCREMENT) numbers from 1 again.
        _hive.ExecuteDb($"UPDATE messages SET sent_at = '{ago}', delivered_at = '{ago}', delivery_count = 1");
        await HiveInstance.Until(() => retention.Deleted > before && _hive.QueryDb<long>("SELECT count(*) FROM messages") == 0,
            TimeSpan.FromSeconds(30), "the sweep");

        var again = await alice.SendAsync("bob", "a new gecko");

        Assert.InRange(again, first, last); // an id the index had read before
        Assert.Equal([(again, "a new [gecko]")], Hits(await SearchAsync("q=gecko")).Select(h => (h.Ref, h.Snippet)));
    }

    [Fact]
    public async Task Rows_stored_while_no_indexer_ran_are_indexed_at_the_next_start_once()
    {
        // As a hive whose rows reached the tables with no indexer to hear of them: rows in messages and questions, none indexed.
        await _hive.RestartAsync(whileDown: () => _hive.ExecuteDb("""
            INSERT INTO messages (sender, recipient, kind, body, sent_at) VALUES ('carol', 'alice', 'message', 'an ocelot from before', '2026-01-01T00:00:00.000Z');
            INSERT INTO questions (asker, target, question, asked_at, answer, answerer, answered_at, answer_seq)
            VALUES ('bob', NULL, 'is the okapi fed?', '2026-01-01T00:00:00.000Z', 'the okapi ate', 'operator', '2026-01-01T00:01:00.000Z',
                    (SELECT coalesce(max(answer_seq), 0) + 1 FROM questions));
            """));

        Assert.Equal([("message", "carol", "alice")], Hits(await SearchAsync("q=ocelot")).Select(h => (h.Kind, h.From, h.To)));
        Assert.Equal([("answer", "operator", "bob"), ("question", "bob", "operator")],
            Hits(await SearchAsync("q=okapi")).Select(h => (h.Kind, h.From, h.To)).Order());
        await _hive.RestartAsync(); // once: a second start reads nothing again
        Assert.Single(Hits(await SearchAsync("q=ocelot")));
        Assert.Equal(_hive.QueryDb<long>("SELECT max(id) FROM messages"),
            _hive.QueryDb<long>("SELECT position FROM search_cursors WHERE kind = 'message'"));
    }
}
