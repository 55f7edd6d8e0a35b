using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// The merge queues, as the operator over HTTP: <c>queue</c> lists them (each repository's queued tickets in order, those
/// being tested and held, the last that ended, the paused repositories; <c>GET /api/merge-queue</c>); <c>queue pause
/// REPOSITORY</c> and <c>queue resume REPOSITORY</c> stop and restart a repository's batches; <c>queue retry TICKET</c> puts a
/// held ticket back in its place; <c>queue remove TICKET</c> takes a queued or held ticket out, back to its review.
/// </summary>
public static class QueueCommands
{
    public static void AddTo(RootCommand root)
    {
        var queue = new Command("queue", "the merge queues: approved tickets waiting to land, the batches being tested, what ended");
        queue.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var view = await api.GetAsync("/api/merge-queue", ct);
            return new CliOutput(view, Render(view));
        });
        queue.Subcommands.Add(Pause("pause", "/api/merge-queue/pause", "stop starting batches of a repository (one running finishes)", "paused"));
        queue.Subcommands.Add(Pause("resume", "/api/merge-queue/resume", "start a paused repository's batches again", "resumed"));
        queue.Subcommands.Add(Entry("retry", "put a held ticket back in its place in the queue", (api, id, ct) => api.PostAsync($"/api/merge-queue/{id}/retry", new JsonObject(), ct)));
        queue.Subcommands.Add(Entry("remove", "take a queued or held ticket out of the queue, back to its review", (api, id, ct) => api.DeleteAsync($"/api/merge-queue/{id}", ct)));
        root.Subcommands.Add(queue);
    }

    private static Command Pause(string name, string path, string description, string done)
    {
        var repository = new Argument<string>("repository") { Description = "the repository as its workflow names it (owner/name, a URL or a path)" };
        var command = new Command(name, description) { repository };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var view = await api.PostAsync(path, new JsonObject { ["repository"] = cx.Value(repository) }, ct);
            return new CliOutput(view, $"{cx.Value(repository)}'s merge queue is {done}\n");
        });
        return command;
    }

    private static Command Entry(string name, string description, Func<HiveApiClient, long, CancellationToken, Task<JsonNode?>> send)
    {
        var ticket = new Argument<long>("ticket") { Description = "the ticket's id" };
        var command = new Command(name, description) { ticket };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var entry = await send(api, cx.Value(ticket), ct);
            return new CliOutput(entry, $"#{Text.Str(entry, "ticket_id")} is {Text.Str(entry, "state")}" +
                (Text.Str(entry, "position") is { } position ? $", number {position} in {Text.Str(entry, "repository")}'s queue" : "") + "\n");
        });
        return command;
    }

    private static string Render(JsonNode? view)
    {
        var text = new StringBuilder();
        var entries = view?["entries"] as JsonArray ?? [];
        var live = entries.Where(e => Text.Str(e, "state") is "queued" or "testing" or "held").ToList();
        if (live.Count == 0) text.Append("no ticket waits to land\n");
        else
            text.Append(Text.Table(["#", "TICKET", "STATE", "REPOSITORY", "APPROVED BY", "WHY"],
                live.Select(e => (IReadOnlyList<string?>)[Text.Str(e, "position") ?? "", "#" + Text.Str(e, "ticket_id") + " " + Text.OneLine(Text.Str(e, "title") ?? "", 40),
                    Text.Str(e, "state") + (Text.Str(e, "batch_id") is { } batch ? $" (batch {batch})" : ""), Text.Str(e, "repository"), Text.Str(e, "approved_by"),
                    Text.OneLine(Text.Str(e, "reason") ?? "", 60)])));
        var ended = entries.Except(live).Take(10).ToList();
        if (ended.Count > 0)
        {
            text.Append("\nended:\n");
            foreach (var e in ended)
                text.Append($"  #{Text.Str(e, "ticket_id")} {Text.Str(e, "state")}" + (Text.Str(e, "merge_sha") is { Length: >= 12 } sha && Text.Str(e, "state") == "landed" ? $" as {sha[..12]}" : "")
                    + (Text.Str(e, "reason") is { } why ? $": {Text.OneLine(why, 100)}" : "") + "\n");
        }
        foreach (var pause in view?["paused"] as JsonArray ?? [])
            text.Append($"paused: {Text.Str(pause, "repository")} (by {Text.Str(pause, "paused_by")})\n");
        return text.ToString();
    }
}
