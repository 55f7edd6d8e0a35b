using System.Globalization;
using System.Text;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Questions;
using Hive.Contracts.Reminders;
using Hive.Features.Questions;

namespace Hive.Tests.Cli;

/// <summary>
/// Text an agent wrote (message bodies, questions, answers, reminders, its log lines)
/// carrying terminal escapes reaches the operator's terminal as visible <c>\u{hex}</c> escapes from every human hivectl
/// command that shows it, with no raw control byte in stdout, while <c>--json</c> keeps the exact characters. The text
/// goes in as an agent would put it: over an agent's socket, or printed by an agent's own process.
/// </summary>
public sealed class TerminalSafeOutputTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    /// <summary>An escape an agent could plant: its name, its characters, and how hivectl shows them.</summary>
    public sealed record Planted(string Name, string Raw, string Shown);

    private static readonly Planted[] Escapes =
    [
        new("title", "\u001b]0;pwned\u0007", @"\u{1b}]0;pwned\u{7}"),
        new("osc52", "\u001b]52;c;ZWNobyBwd25lZA==\u0007", @"\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}"),
        new("clear", "\u001b[2J", @"\u{1b}[2J"),
        new("c1csi", "\u009b2J", @"\u{9b}2J"),
        new("bel", "\u0007", @"\u{7}"),
        new("bs", "\b", @"\u{8}"),
        new("rlo", "\u202e", @"\u{202e}"),
        // More of what a terminal acts on or shows as nothing: DEL, a bidi isolate, zero-width characters, a tag character
        // (outside the BMP: a surrogate pair in .NET's strings).
        new("del", "\u007f", @"\u{7f}"),
        new("lri", "\u2066", @"\u{2066}"),
        new("zwsp", "\u200b", @"\u{200b}"),
        new("bom", "\ufeff", @"\u{feff}"),
        new("tag", "\U000E0041", @"\u{e0041}"),
    ];

    /// <summary>One text per escape, tagged so a test finds its own among the fixture's (tables cut long cells, so one each).</summary>
    private static string Text(string tag, Planted e) => $"{tag}-{e.Name}<{e.Raw}>";

    private static string Shown(string tag, Planted e) => $"{tag}-{e.Name}<{e.Shown}>";

    private static string NewTag() => "t" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Stdout holds each escape's visible form and not one byte or character a terminal would act on or hide.</summary>
    private static void AssertShownSafely(byte[] stdout, string tag, string what)
    {
        var text = Encoding.UTF8.GetString(stdout);
        var control = Array.FindIndex(stdout, b => b is < 0x20 and not (byte)'\n' and not (byte)'\t' or 0x7f);
        Assert.True(control < 0, $"{what} printed the control byte 0x{(control < 0 ? 0 : stdout[control]):x2}:\n{text}");
        var hidden = text.EnumerateRunes().Where(r => r.Value is >= 0x80 and <= 0x9f || Rune.GetUnicodeCategory(r) == UnicodeCategory.Format).ToList();
        Assert.True(hidden.Count == 0, $"{what} printed U+{(hidden.Count == 0 ? 0 : hidden[0].Value):X4}:\n{text}");
        foreach (var e in Escapes) Assert.True(text.Contains(Shown(tag, e), StringComparison.Ordinal), $"{what} does not show {Shown(tag, e)}:\n{text}");
    }

    [Fact]
    public async Task Message_bodies_show_as_visible_escapes_in_recv_inbox_and_tail_and_exactly_in_json()
    {
        var (a, b) = (await _hive.NewAgentAsync("a"), await _hive.NewAgentAsync("b"));
        var tag = NewTag();
        var seq = (await _hive.GetJsonAsync("/api/state")).GetProperty("seq").GetInt64(); // the snapshot is assembled at run time: no record
        await using var tail = Hivectl.Start([.. fixture.OperatorArgs, "tail", "--since", seq.ToString(CultureInfo.InvariantCulture)]);
        await using var tailJson = Hivectl.Start([.. fixture.OperatorArgs, "tail", "--json", "--since", seq.ToString(CultureInfo.InvariantCulture)]);

        await using (var sender = await _hive.ConnectAsync(a))
        {
            foreach (var e in Escapes) await sender.SendAsync(b, Text(tag, e));
            foreach (var e in Escapes) await sender.SendAsync("operator", Text(tag, e));
            foreach (var e in Escapes) await sender.SendAsync(b, Text(tag, e)); // a second round for recv --json
        }

        var recv = (await fixture.AgentAsync(b, "recv", "--max", $"{Escapes.Length}", "--wait", "5")).Ok();
        AssertShownSafely(recv.StdoutBytes, tag, "recv");
        var recvJson = (await fixture.AgentAsync(b, "recv", "--max", $"{Escapes.Length}", "--wait", "5", "--json")).Ok().JsonAs<RecvManyReply>();
        Assert.Equal(Escapes.Select(e => Text(tag, e)), recvJson.Messages.Select(m => m.Body));

        AssertShownSafely((await fixture.OperatorAsync("inbox")).Ok().StdoutBytes, tag, "inbox");
        var inbox = (await fixture.OperatorAsync("inbox", "--json")).Ok().JsonAs<MessageView[]>();
        Assert.Equal(Escapes.Select(e => Text(tag, e)).Reverse(), // newest first
            inbox.Select(m => m.Body).Where(body => body.StartsWith(tag, StringComparison.Ordinal)));

        var last = Shown(tag, Escapes[^1]);
        await HiveInstance.Until(() => tail.StdoutLines.Count(l => l.Contains(last, StringComparison.Ordinal)) >= 3, TimeSpan.FromSeconds(15),
            "tail's three sends of the last text");
        AssertShownSafely(tail.StdoutBytes, tag, "tail");

        var sentBodies = new List<string?>();
        await HiveInstance.Until(() =>
        {
            // tail's line (event, data) is hivectl's own, read raw; its data is the event's payload, the message.
            sentBodies = tailJson.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement).Where(x => x.GetProperty("event").GetString() == "sent")
                .Select(x => (string?)x.GetProperty("data").Deserialize<MessageView>(HiveJson.Options)!.Body)
                .Where(body => body!.StartsWith(tag, StringComparison.Ordinal)).ToList();
            return sentBodies.Count >= 3 * Escapes.Length;
        }, TimeSpan.FromSeconds(15), "tail --json's sends");
        Assert.Equal(Enumerable.Repeat(Escapes.Select(e => Text(tag, e)), 3).SelectMany(x => x), sentBodies);
    }

    [Fact]
    public async Task Questions_and_answers_show_as_visible_escapes_in_questions_and_ask_and_exactly_in_json()
    {
        var (a, b) = (await _hive.NewAgentAsync("a"), await _hive.NewAgentAsync("b"));
        var tag = NewTag();
        await using (var asker = await _hive.ConnectAsync(a))
        await using (var peer = await _hive.ConnectAsync(b))
        {
            foreach (var e in Escapes) await asker.CallAsync(QuestionVerbs.Ask, new AskArgs(Text(tag, e), null, null, null, null)); // to the operator
            foreach (var e in Escapes)
            {
                var id = (await asker.CallAsync(QuestionVerbs.Ask, new AskArgs($"peer {e.Name}?", b, null, null, null))).Id;
                await peer.CallAsync(QuestionVerbs.Answer, new AnswerArgs(id, Text(tag, e)));
            }
        }

        var listed = (await fixture.OperatorAsync("questions", "--filter", a)).Ok();
        AssertShownSafely(listed.StdoutBytes, tag, "questions");
        var text = Encoding.UTF8.GetString(listed.StdoutBytes);
        var answeredAt = text.IndexOf("answered:", StringComparison.Ordinal);
        Assert.True(answeredAt > 0 && text.IndexOf(Shown(tag, Escapes[0]), StringComparison.Ordinal) < answeredAt, text); // asked
        Assert.Contains(Shown(tag, Escapes[0]), text[answeredAt..]); // and answered

        var json = (await fixture.OperatorAsync("questions", "--filter", a, "--json")).Ok().JsonAs<ListQuestions.Result>();
        Assert.Equal(Escapes.Select(e => Text(tag, e)), json.Pending.Select(q => q.Question));
        Assert.Equal(Escapes.Select(e => Text(tag, e)).Reverse(), // newest answer first
            json.Answered.Select(q => q.Answer));

        // ask --wait prints the answer itself: a peer's, so the peer's text.
        var answer = string.Join(" ", Escapes.Select(e => Text(tag, e)));
        Assert.Equal(answer, (await AskAndAnswerAsync(a, b, answer, "--json")).Json.GetProperty("answer").GetString()); // ask --wait's own document: no record
        AssertShownSafely((await AskAndAnswerAsync(a, b, answer)).StdoutBytes, tag, "ask --wait");
    }

    /// <summary><paramref name="asker"/> runs <c>ask --to answerer --wait</c>; the answerer answers over its socket.</summary>
    private async Task<HivectlResult> AskAndAnswerAsync(string asker, string answerer, string answer, params string[] flags)
    {
        var question = "q-" + Guid.NewGuid().ToString("N")[..8];
        await using var asking = Hivectl.Start(["ask", question, "--to", answerer, "--wait", "20", "--socket", _hive.SocketPath(asker), .. flags]);
        long id = 0;
        await HiveInstance.Until(() => (id = _hive.QueryDbList<long>("SELECT id FROM questions WHERE question = @question", new { question }).FirstOrDefault()) > 0,
            TimeSpan.FromSeconds(15), "the question");
        await using (var peer = await _hive.ConnectAsync(answerer)) await peer.CallAsync(QuestionVerbs.Answer, new AnswerArgs(id, answer));
        return (await asking.WaitForExitAsync(TimeSpan.FromSeconds(25))).Ok();
    }

    [Fact]
    public async Task Agent_log_lines_show_as_visible_escapes_in_logs_and_logs_follow_and_exactly_in_json()
    {
        var tag = NewTag();
        var name = "cli-esc-" + Guid.NewGuid().ToString("N")[..6];
        // The agent's own process prints the escapes (the command line itself stays ASCII: printf's octal escapes).
        var script = string.Concat(Escapes.Select(e => $"printf '{PrintfOctal(Text(tag, e))}\\n'; ")) + "exec sleep 600";
        (await fixture.OperatorAsync("agents", "create", name, "--driver", "process", "--json", "--", "/bin/sh", "-c", script)).Ok();
        try
        {
            var lines = Escapes.Select(e => Text(tag, e)).ToList();
            await HiveInstance.Until(() => _hive.Http.GetStringAsync($"/api/agents/{name}/logs?tail=100").GetAwaiter().GetResult().Contains(lines[^1], StringComparison.Ordinal),
                TimeSpan.FromSeconds(15), "the agent's last line in its log");

            AssertShownSafely((await fixture.OperatorAsync("agents", "logs", name)).Ok().StdoutBytes, tag, "agents logs");
            var logged = (await fixture.OperatorAsync("agents", "logs", name, "--json")).Ok().Json.GetProperty("text").GetString()!; // hivectl's own document
            Assert.Equal(lines, logged.Split('\n').Where(l => l.StartsWith(tag, StringComparison.Ordinal)));

            await using var follow = Hivectl.Start([.. fixture.OperatorArgs, "agents", "logs", name, "-f", "--interval", "0.1"]);
            await follow.UntilLineAsync(l => l.Contains(Shown(tag, Escapes[^1]), StringComparison.Ordinal), TimeSpan.FromSeconds(15), "logs -f's last line");
            AssertShownSafely(follow.StdoutBytes, tag, "agents logs -f");
        }
        finally
        {
            (await fixture.OperatorAsync("agents", "destroy", name, "--json")).Ok();
        }
    }

    [Fact]
    public async Task Reminder_bodies_show_as_visible_escapes_in_reminders_and_exactly_in_json()
    {
        var a = await _hive.NewAgentAsync("a");
        var tag = NewTag();
        await using (var agent = await _hive.ConnectAsync(a))
            foreach (var e in Escapes) await agent.CallAsync(ReminderVerbs.Remind, new RemindArgs(Text(tag, e), 3600, null, null, null, null, null, null));
        AssertShownSafely((await fixture.OperatorAsync("reminders")).Ok().StdoutBytes, tag, "reminders");
        // hivectl's document puts the two lists side by side (no record): the pending list read as its records.
        var reminders = (await fixture.OperatorAsync("reminders", "--json")).Ok().Json.GetProperty("pending").Deserialize<ReminderView[]>(HiveJson.Options)!;
        Assert.Equal(Escapes.Select(e => Text(tag, e)).Order(StringComparer.Ordinal),
            reminders.Select(r => r.Body).Where(body => body.StartsWith(tag, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    /// <summary><paramref name="text"/> as a printf format: printable ASCII as it is, every other byte of its UTF-8 as <c>\ooo</c>.</summary>
    private static string PrintfOctal(string text) => string.Concat(Encoding.UTF8.GetBytes(text).Select(b =>
        b is >= 0x20 and < 0x7f && b is not (byte)'\\' and not (byte)'%' and not (byte)'\'' ? ((char)b).ToString() : $"\\{Convert.ToString(b, 8).PadLeft(3, '0')}"));
}
