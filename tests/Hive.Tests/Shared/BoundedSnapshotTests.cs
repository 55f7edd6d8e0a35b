using Hive.Contracts.Json;
using Hive.Contracts.Reminders;
using Hive.Features.Questions;

namespace Hive.Tests.Shared;

/// <summary>/api/state stays the same size whatever the backlog; the list routes page through it.</summary>
public sealed class BoundedSnapshotTests : IAsyncLifetime
{
    private static readonly string[] Agents = ["alice", "bob", "carol", "dave", "erin"];
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(Agents);
    public async Task DisposeAsync() => await _hive.DisposeAsync();

    /// <summary>Rows straight into the database (the quotas guard the verbs, not this), spread over the agents.</summary>
    private void Backlog(int reminders, int questions)
    {
        const string sql = """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @reminders)
            INSERT INTO reminders (agent, body, payload_path, due_at, created_at, attempt_count)
            SELECT (@agents ->> ('$[' || (i % 5) || ']')), 'backlog reminder ' || i || ' with a body of some length to weigh something', NULL,
                   strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || (3600 + i) || ' seconds'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0
            FROM n;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @questions)
            INSERT INTO questions (asker, target, question, asked_at)
            SELECT (@agents ->> ('$[' || (i % 5) || ']')), NULL, 'backlog question ' || i || ' with a body of some length to weigh something',
                   strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
            FROM n;
            SELECT 1;
            """;
        _hive.QueryDb<long>(sql, new { reminders, questions, agents = JsonSerializer.Serialize(Agents) });
    }

    private async Task<(long Bytes, JsonElement State)> StateAsync()
    {
        var bytes = await _hive.Http.GetByteArrayAsync("/api/state");
        return (bytes.Length, JsonDocument.Parse(bytes).RootElement.Clone());
    }

    [Fact]
    public async Task The_snapshot_is_bounded_with_a_big_backlog_and_carries_totals()
    {
        Backlog(reminders: 300, questions: 150);
        var (small, _) = await StateAsync();

        Backlog(reminders: 4700, questions: 350);
        var (big, state) = await StateAsync();

        var reminders = state.GetProperty("reminders").Deserialize<List<ReminderView>>(HiveJson.Options)!;
        Assert.Equal(100, reminders.Count);
        Assert.Equal(5000, state.GetProperty("reminders_total").GetInt64()); // the snapshot itself has no record
        var questions = state.GetProperty("questions").Deserialize<ListQuestions.Result>(HiveJson.Options)!;
        Assert.Equal(100, questions.Pending.Count);
        Assert.Equal(500, questions.PendingTotal);
        // The soonest reminders and the oldest questions.
        var due = reminders.Select(r => r.DueAt).ToList();
        Assert.Equal(due.Order(), due);
        Assert.Equal("backlog reminder 1 with a body of some length to weigh something", reminders[0].Body);
        // The agent rows still count everything.
        Assert.Equal(5000, state.GetProperty("agents").EnumerateArray().Sum(a => a.GetProperty("pending_reminders").GetInt64()));

        Assert.True(big < 128 * 1024, $"/api/state is {big} bytes with 5 000 reminders and 500 open questions");
        Assert.True(big < small + 4096, $"/api/state grew from {small} to {big} bytes with the backlog");
    }

    [Fact]
    public async Task Reminders_page_newest_first_by_id_and_the_pages_cover_every_reminder_once()
    {
        Backlog(reminders: 1234, questions: 0);
        var seen = new List<long>();
        long? before = null;
        while (true)
        {
            var page = await _hive.GetAsync<List<ReminderView>>($"/api/reminders?limit=500{(before is null ? "" : $"&before={before}")}");
            var ids = page.Select(r => r.Id).ToList();
            Assert.Equal(ids.OrderDescending(), ids);
            seen.AddRange(ids);
            if (ids.Count < 500) break;
            before = ids[^1];
        }
        Assert.Equal(1234, seen.Count);
        Assert.Equal(1234, seen.Distinct().Count());
        Assert.Equal(100, (await _hive.GetJsonAsync("/api/reminders")).GetArrayLength()); // the default page
        using var tooBig = await _hive.Http.GetAsync("/api/reminders?limit=501");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, tooBig.StatusCode);
    }

    [Fact]
    public async Task Questions_page_pending_oldest_first_and_answered_newest_first()
    {
        Backlog(reminders: 0, questions: 30);
        var ids = HiveInstance.QueryDbList<long>(_hive.DataDir, "SELECT id FROM questions ORDER BY id");
        foreach (var id in ids.Take(12))
            using (var answered = await _hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = $"a{id}" }))
                answered.EnsureSuccessStatusCode();

        var first = await _hive.GetAsync<ListQuestions.Result>("/api/questions?pending_limit=10&limit=5");
        Assert.Equal(18, first.PendingTotal);
        var pending = first.Pending.Select(q => q.Id).ToList();
        Assert.Equal(ids.Skip(12).Take(10), pending);
        var rest = await _hive.GetAsync<ListQuestions.Result>($"/api/questions?pending_limit=10&pending_after={pending[^1]}");
        Assert.Equal(ids.Skip(22), rest.Pending.Select(q => q.Id));

        // Answered one by one, so newest answer first is newest id first; pages meet without gaps or repeats.
        var answeredIds = new List<long>();
        long? before = null;
        while (true)
        {
            var page = await _hive.GetAsync<ListQuestions.Result>($"/api/questions?limit=5{(before is null ? "" : $"&before={before}")}");
            var got = page.Answered.Select(q => q.Id).ToList();
            answeredIds.AddRange(got);
            if (got.Count < 5) break;
            before = got[^1];
        }
        Assert.Equal(ids.Take(12).Reverse(), answeredIds);
    }
}
