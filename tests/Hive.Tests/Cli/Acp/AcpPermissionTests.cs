using System.Net;
using System.Net.Http.Json;
using Hive.Contracts.TurnStats;

namespace Hive.Tests.Cli.Acp;

/// <summary>
/// The permission bridge, end to end: <see cref="FakeAcpAgent"/> under <c>hivectl run --acp</c> asks to read a file in its
/// work dir, to run a command and to call the hive's send tool; the agent's policy (<c>allow: read</c>, <c>ask: execute</c>)
/// answers the read with no question, the hive's own tool is allowed, and the command becomes one question to the operator
/// with the agent's options as its buttons, whose answer reaches the agent. A question left past its TTL resolves as the
/// policy's default. Every decision is a row (<c>/api/agents/{name}/permissions</c>) and an audit entry.
/// </summary>
public sealed class AcpPermissionTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-acp-perm-").FullName;
    private string Log => Path.Combine(_dir, "agent.log");

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["bob"], "--Hive:Messages:AckTimeoutSeconds", "600");

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await TestDirectories.DeleteAsync(_dir);
    }

    private async Task CreateAsync(string name, object permissions)
    {
        using var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name, driver = "external", permissions });
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
    }

    private RunningHivectl Harness(string agent) =>
        Hivectl.Start(["run", "--socket", _hive.SocketPath(agent), "--acp", "--", "python3", FakeAcpAgent.WriteTo(_dir), "good"],
            env: new Dictionary<string, string> { ["FAKE_ACP_LOG"] = Log }, workingDirectory: _dir);

    private async Task SendAsync(string to, string body)
    {
        await using var bob = await _hive.ConnectAsync("bob");
        await bob.SendAsync(to, body);
    }

    /// <summary>The option ids the agent got back for its permission requests, in order.</summary>
    private List<string?> Answers() => !File.Exists(Log) ? [] : File.ReadAllLines(Log).Select(l => JsonDocument.Parse(l).RootElement.Clone())
        .Where(m => m.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.Object && r.TryGetProperty("outcome", out _))
        .Select(m => m.GetProperty("result").GetProperty("outcome").TryGetProperty("optionId", out var id) ? id.GetString() : null).ToList();

    private sealed record OpenQuestion(long Id, string Asker, string Question, string Options);

    /// <summary>The one open question (read from the database: the test needs its options as stored).</summary>
    private async Task<OpenQuestion> OpenQuestionAsync()
    {
        OpenQuestion? question = null;
        await HiveInstance.Until(() => (question = _hive.QueryDbList<OpenQuestion>(
                "SELECT id, asker, question, options FROM questions WHERE answered_at IS NULL").SingleOrDefault()) is not null,
            TimeSpan.FromSeconds(60), "the permission question");
        return question!;
    }

    private async Task<TurnView> TurnAsync(RunningHivectl harness, string agent)
    {
        TurnView[] turns = [];
        await HiveInstance.Until(() => (turns = _hive.GetAsync<TurnView[]>($"/api/agents/{agent}/turns").GetAwaiter().GetResult()).Length >= 1,
            TimeSpan.FromSeconds(60), $"{agent}'s turn\n{harness.Stderr}");
        return turns[0];
    }

    [Fact]
    public async Task A_policy_allowing_read_and_asking_for_execute_asks_only_for_the_command_and_the_operators_button_answers_it()
    {
        await CreateAsync("carol", new { allow = new[] { "read:" + _dir + "/**" }, ask = new[] { "execute" } });
        await SendAsync("carol", "ASK");
        await using var harness = Harness("carol");

        var question = await OpenQuestionAsync();
        Assert.Equal("hive", question.Asker);
        var text = question.Question;
        Assert.StartsWith("carol asks permission to run a command: `touch /tmp/x`", text);
        Assert.Contains("command: touch /tmp/x", text);
        Assert.Equal("""["Always Allow","Allow","Reject"]""", question.Options);
        // The read was answered by the policy before the command was asked: one answer so far, "allow", and no other question.
        Assert.Equal(["allow"], Answers());

        using (var answered = await _hive.Http.PostAsJsonAsync($"/api/questions/{question.Id}/answer", new { answer = "Allow" }))
            Assert.True(answered.IsSuccessStatusCode, await answered.Content.ReadAsStringAsync());
        var turn = await TurnAsync(harness, "carol");
        Assert.True(turn.ResultKind == "ok", $"{turn.Note}\n{harness.Stderr}");
        Assert.Equal(["allow", "allow", "allow"], Answers());
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = 'hive'"));

        var decisions = (await _hive.GetJsonAsync("/api/agents/carol/permissions")).EnumerateArray().Reverse()
            .Select(p => (p.GetProperty("kind").GetString(), p.GetProperty("state").GetString(), p.GetProperty("decided_by").GetString(),
                p.GetProperty("rule").ValueKind == JsonValueKind.Null ? null : p.GetProperty("rule").GetString())).ToList();
        Assert.Equal([("read", "allow", "policy", "read:" + _dir + "/**"), ("execute", "allow", "operator", "execute"), ("other", "allow", "hive", null)], decisions);
        var transcript = await _hive.GetAsync<TranscriptEntryView[]>($"/api/agents/carol/transcript?turn={turn.Id}");
        Assert.Contains(transcript, e => e.Kind == "system" && e.Text.Contains("(execute): `touch /tmp/x`: allowed by operator", StringComparison.Ordinal));
        Assert.Contains(transcript, e => e.Kind == "system" && e.Text.Contains("(read): Read notes.txt: allowed by policy (read:", StringComparison.Ordinal));
        await HiveInstance.Until(() => _hive.Http.GetStringAsync("/api/audit?limit=1000").GetAwaiter().GetResult()
            .Split("\"action\":\"permission\"").Length - 1 == 3, TimeSpan.FromSeconds(30), "three permission entries in the audit log");
    }

    [Fact]
    public async Task The_operators_reject_reaches_the_agent_and_a_path_outside_the_rule_is_asked()
    {
        // The read is of a file in the work dir, which the rule does not cover: it is asked too, and so is the command.
        await CreateAsync("dave", new { allow = new[] { "read:/somewhere/else/**" }, deny = new[] { "tool:mcp__hive__*" } });
        await SendAsync("dave", "ASK");
        await using var harness = Harness("dave");
        foreach (var answer in new[] { "Reject", "Reject" })
        {
            var question = await OpenQuestionAsync();
            using var answered = await _hive.Http.PostAsJsonAsync($"/api/questions/{question.Id}/answer", new { answer });
            Assert.True(answered.IsSuccessStatusCode, await answered.Content.ReadAsStringAsync());
            // This question, not "no open question": the agent may ask the next one before a poll sees none open.
            await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE id = @Id AND answered_at IS NOT NULL", new { question.Id }) == 1,
                TimeSpan.FromSeconds(30), "the question resolved");
        }
        var turn = await TurnAsync(harness, "dave");
        Assert.True(turn.ResultKind == "ok", $"{turn.Note}\n{harness.Stderr}");
        // The hive's own tool was denied by the policy's deny rule, which comes before the hive's own allowance.
        Assert.Equal(["reject", "reject", "reject"], Answers());
        var decided = (await _hive.GetJsonAsync("/api/agents/dave/permissions")).EnumerateArray().First();
        Assert.Equal(("deny", "policy", "tool:mcp__hive__*"), (decided.GetProperty("state").GetString(), decided.GetProperty("decided_by").GetString(), decided.GetProperty("rule").GetString()));
    }

    [Fact]
    public async Task The_hives_own_tool_is_allowed_however_the_agent_names_it_and_a_look_alike_is_asked()
    {
        await CreateAsync("hana", new { allow = new[] { "read" } });
        await SendAsync("hana", "ASK-MCP");
        await using var harness = Harness("hana");
        var question = await OpenQuestionAsync();
        Assert.StartsWith("hana asks permission", question.Question);
        Assert.Contains("hivesend", question.Question);
        using (var answered = await _hive.Http.PostAsJsonAsync($"/api/questions/{question.Id}/answer", new { answer = "Reject" }))
            Assert.True(answered.IsSuccessStatusCode, await answered.Content.ReadAsStringAsync());
        var turn = await TurnAsync(harness, "hana");
        Assert.True(turn.ResultKind == "ok", $"{turn.Note}\n{harness.Stderr}");
        // Codex's, Gemini CLI's and opencode's spellings of the hive's send tool: the hive's own, allowed without a question.
        Assert.Equal(["allow", "allow", "allow", "reject"], Answers());
        var decisions = (await _hive.GetJsonAsync("/api/agents/hana/permissions")).EnumerateArray().Reverse()
            .Select(p => (p.GetProperty("tool").GetString(), p.GetProperty("decided_by").GetString())).ToList();
        Assert.Equal([("mcp__hive__send", "hive"), ("mcp__hive__send", "hive"), ("mcp__hive__send", "hive"), (null, "operator")], decisions);
    }

    [Fact]
    public async Task A_question_left_past_its_ttl_resolves_as_the_policys_default()
    {
        await CreateAsync("erin", new { allow = new[] { "read", "other" }, ask = new[] { "execute" }, @default = "allow", ttl_seconds = 1 });
        await SendAsync("erin", "ASK");
        await using var harness = Harness("erin");
        var turn = await TurnAsync(harness, "erin");
        Assert.True(turn.ResultKind == "ok", $"{turn.Note}\n{harness.Stderr}");
        Assert.Equal(["allow", "allow", "allow"], Answers());
        var command = (await _hive.GetJsonAsync("/api/agents/erin/permissions")).EnumerateArray().Single(p => p.GetProperty("kind").GetString() == "execute");
        Assert.Equal(("allow", "expired"), (command.GetProperty("state").GetString(), command.GetProperty("decided_by").GetString()));
    }

    [Fact]
    public async Task A_policy_asking_the_manager_puts_the_question_to_the_manager_whose_answer_decides()
    {
        await CreateAsync("gina", new { allow = new[] { "read", "other" }, ask_to = "manager" });
        await SendAsync("gina", "ASK");
        await using var harness = Harness("gina");
        long question = 0;
        await HiveInstance.Until(() => (question = _hive.QueryDb<long>(
                "SELECT coalesce(max(id), 0) FROM questions WHERE asker = 'hive' AND target = 'manager' AND answered_at IS NULL")) > 0,
            TimeSpan.FromSeconds(60), $"the question to the manager\n{harness.Stderr}");
        await using (var manager = await _hive.ConnectAsync("manager"))
            await manager.CallAsync(Hive.Contracts.Questions.QuestionVerbs.Answer, new Hive.Contracts.Questions.AnswerArgs(question, "Reject"));
        var turn = await TurnAsync(harness, "gina");
        Assert.True(turn.ResultKind == "ok", $"{turn.Note}\n{harness.Stderr}");
        Assert.Equal(["allow", "reject", "allow"], Answers());
        var command = (await _hive.GetJsonAsync("/api/agents/gina/permissions")).EnumerateArray().Single(p => p.GetProperty("kind").GetString() == "execute");
        Assert.Equal(("deny", "manager"), (command.GetProperty("state").GetString(), command.GetProperty("decided_by").GetString()));
    }

    [Theory]
    [InlineData("""{"allow":["shell"]}""", "permissions.allow: 'shell': the kind is one of")]
    [InlineData("""{"ask":["tool"]}""", "tool needs a pattern")]
    [InlineData("""{"default":"maybe"}""", "permissions.default is allow or deny")]
    [InlineData("""{"ttl_seconds":0}""", "permissions.ttl_seconds must be 1 to 21600")]
    [InlineData("""{"ask_to":"bob"}""", "permissions.ask_to is operator or manager")]
    public async Task A_policy_that_cannot_be_used_is_refused_with_the_reason(string permissions, string reason)
    {
        using var created = await _hive.Http.PostAsync("/api/agents", new StringContent(
            $$"""{"name":"frank","driver":"external","permissions":{{permissions}}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, created.StatusCode);
        Assert.Contains(reason, await created.Content.ReadAsStringAsync());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM agents WHERE name = 'frank'"));
    }

    [Fact]
    public async Task A_request_the_hive_cannot_read_is_refused_on_the_socket_and_changes_nothing()
    {
        await using var bob = await _hive.ConnectLinesAsync("bob");
        foreach (var (line, wanted) in new[]
                 {
                     ("""{"op":"permission","title":"x"}""", "options are 1 to 8"),
                     ("""{"op":"permission","title":"","options":[{"id":"a"}]}""", "title is 1 to 1024 bytes"),
                     ("""{"op":"permission","title":"x","options":[{"id":"a"},{"id":"a"}]}""", "option ids must not repeat"),
                     ("""{"op":"permission","title":"x","paths":["/a\u0000b"],"options":[{"id":"a"}]}""", "without NUL"),
                 })
        {
            var reply = JsonDocument.Parse((await bob.CallAsync(System.Text.Encoding.UTF8.GetBytes(line + "\n"))).ToArray()).RootElement;
            Assert.False(reply.GetProperty("ok").GetBoolean(), line);
            Assert.Contains(wanted, reply.GetProperty("error").GetString());
        }
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM permission_requests"));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions"));
    }
}
