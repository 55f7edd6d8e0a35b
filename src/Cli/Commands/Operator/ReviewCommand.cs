using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>review TICKET</c>: a ticket's review, as the operator over HTTP. Alone it shows the owner, the head, each thread
/// (file, lines, the quoted lines, the replies, resolved or not, touched since) and each review given
/// (<c>GET /api/tickets/{id}/review</c>); <c>--line PATH:LINE --body TEXT</c> comments on a line of the diff
/// (<c>POST /api/tickets/{id}/comments</c>); <c>--approve</c>, <c>--request-changes</c> or <c>--comment</c> (with
/// <c>--body</c>) submits a review (<c>POST /api/tickets/{id}/reviews</c>). Agents review through the socket's verbs.
/// </summary>
public static class ReviewCommand
{
    public static void AddTo(RootCommand root)
    {
        var ticket = new Argument<long>("ticket") { Description = "the ticket's id" };
        var approve = new Option<bool>("--approve") { Description = "approve it: its review passes (on a workflow with a repository it enters the merge queue)" };
        var changes = new Option<bool>("--request-changes") { Description = "send it back to be worked, with --body saying what must change" };
        var comment = new Option<bool>("--comment") { Description = "a review of words only (--body)" };
        var line = new Option<string?>("--line") { Description = "PATH:LINE, or PATH:START-LINE: comment on these lines of the diff (--body)" };
        var body = new Option<string?>("--body") { Description = "what the comment or review says" };
        var command = new Command("review", "a ticket's review: its threads and reviews; comment on a line, approve, request changes")
            { ticket, approve, changes, comment, line, body };
        command.SetRun(async (cx, ct) =>
        {
            var id = cx.Value(ticket).ToString(CultureInfo.InvariantCulture);
            var verdicts = new[] { (cx.Value(approve), "approve"), (cx.Value(changes), "request_changes"), (cx.Value(comment), "comment") }.Where(v => v.Item1).ToList();
            if (verdicts.Count + (cx.Value(line) is null ? 0 : 1) > 1) throw new UsageError("give one of --approve, --request-changes, --comment or --line");
            using var api = cx.Api();
            if (cx.Value(line) is { } at)
            {
                var (path, start, end) = LineOf(at);
                var sent = new JsonObject { ["path"] = path, ["line"] = end, ["text"] = cx.Value(body) ?? throw new UsageError("--line takes --body: what the comment says") };
                if (start is not null) sent["start_line"] = start;
                var written = await api.PostAsync($"/api/tickets/{id}/comments", sent, ct);
                return new CliOutput(written, $"comment {Text.Str(written, "id")} on {path} line {end} of #{id}, sent to its owner\n");
            }
            if (verdicts.Count == 1)
            {
                var sent = new JsonObject { ["verdict"] = verdicts[0].Item2 };
                if (cx.Value(body) is { } words) sent["body"] = words;
                var reply = await api.PostAsync($"/api/tickets/{id}/reviews", sent, ct);
                var ticketNode = reply?["ticket"];
                return new CliOutput(reply, $"#{id}: {verdicts[0].Item2.Replace('_', ' ')}; it is in {Text.Str(ticketNode, "phase")}" +
                    (Text.Str(ticketNode, "next_phase") is { } next ? $", waiting for {next}" : "") + "\n");
            }
            if (cx.Value(body) is not null) throw new UsageError("--body goes with --line, --approve, --request-changes or --comment");
            var review = await api.GetAsync($"/api/tickets/{id}/review", ct);
            return new CliOutput(review, Render(review));
        });
        root.Subcommands.Add(command);
    }

    /// <summary>PATH:LINE or PATH:START-LINE (the last colon splits: a path may hold one).</summary>
    private static (string Path, int? Start, int Line) LineOf(string at)
    {
        var colon = at.LastIndexOf(':');
        if (colon <= 0) throw new UsageError("--line is PATH:LINE or PATH:START-LINE");
        var lines = at[(colon + 1)..].Split('-');
        if (lines.Length > 2 || !lines.All(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0))
            throw new UsageError("--line is PATH:LINE or PATH:START-LINE, lines counted from 1");
        var numbers = lines.Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToList();
        return (at[..colon], numbers.Count == 2 ? numbers[0] : null, numbers[^1]);
    }

    private static string Render(JsonNode? review)
    {
        var text = new StringBuilder($"#{Text.Str(review, "ticket_id")}: branch of {Text.Str(review, "owner")} at {Text.Str(review, "head_sha")?[..Math.Min(12, Text.Str(review, "head_sha")?.Length ?? 0)]}\n");
        var comments = (review?["comments"] as JsonArray ?? []).ToList();
        foreach (var thread in comments.Where(c => c?["parent_id"] is null))
        {
            var lines = Text.Str(thread, "start_line") is { } start ? $"{start}-{Text.Str(thread, "line")}" : Text.Str(thread, "line");
            var state = Text.Str(thread, "resolved_at") is not null ? $" (resolved by {Text.Str(thread, "resolved_by")})" : thread?["touched"]?.GetValue<bool>() == true ? " (changed since)" : "";
            text.Append($"\n{Text.Str(thread, "path")}:{lines}{state}\n");
            foreach (var quoted in (Text.Str(thread, "quoted") ?? "").Split('\n')) text.Append($"  > {quoted}\n");
            text.Append($"  {Text.Str(thread, "author")} (comment {Text.Str(thread, "id")}): {Text.Str(thread, "text")}\n");
            foreach (var reply in comments.Where(c => Text.Str(c, "parent_id") == Text.Str(thread, "id")))
                text.Append($"    {Text.Str(reply, "author")}: {Text.Str(reply, "text")}\n");
        }
        if (comments.Count == 0) text.Append("no comments\n");
        foreach (var decision in review?["decisions"] as JsonArray ?? [])
            text.Append($"review by {Text.Str(decision, "reviewer")}: {Text.Str(decision, "verdict")}" + (Text.Str(decision, "body") is { } words ? $": {Text.OneLine(words, 100)}" : "") + "\n");
        return text.ToString();
    }
}
