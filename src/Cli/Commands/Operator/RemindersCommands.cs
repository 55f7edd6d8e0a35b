using System.CommandLine;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>reminders</c>: pending reminders (failed ones included) and recurring ones (JSON: <c>{pending, recurring}</c>);
/// <c>cancel</c> and <c>retry</c> a pending one.
/// </summary>
public static class RemindersCommands
{
    public static void AddTo(RootCommand root)
    {
        var reminders = new Command("reminders", "pending reminders, failed ones included, and recurring reminders");
        reminders.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var list = await api.GetAsync("/api/reminders", ct) as JsonArray ?? [];
            var recurring = await api.GetAsync("/api/reminders/recurring", ct) as JsonArray ?? [];
            var text = Text.Table(["ID", "AGENT", "DUE", "ATTEMPTS", "LAST ERROR", "BODY"],
                list.Select(r => (IReadOnlyList<string?>)
                [
                    Text.Str(r, "id"), Text.Str(r, "agent"), Text.Str(r, "due_at"), Text.Str(r, "attempt_count"), Text.Str(r, "last_error"),
                    Text.Str(r, "body"),
                ]));
            // Recurring ones are listed apart: a schedule, not a due time (each run becomes a pending reminder when due).
            if (recurring.Count > 0)
                text = (list.Count > 0 ? text + "\n" : "") + "recurring:\n" + Text.Table(["ID", "AGENT", "CRON", "TIME ZONE", "STATE", "NEXT RUN", "BODY"],
                    recurring.Select(r => (IReadOnlyList<string?>)
                    [
                        Text.Str(r, "id"), Text.Str(r, "agent"), Text.Str(r, "cron"), Text.Str(r, "time_zone"), Text.Str(r, "state"),
                        r?["next_runs"] is JsonArray { Count: > 0 } next ? next[0]?.GetValue<string>() : null, Text.Str(r, "body"),
                    ]));
            return new CliOutput(new JsonObject { ["pending"] = list.DeepClone(), ["recurring"] = recurring.DeepClone() }, text);
        });

        var cancelId = new Argument<long>("id") { Description = "the reminder's id" };
        var cancel = new Command("cancel", "delete a pending reminder") { cancelId };
        cancel.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            await api.DeleteAsync($"/api/reminders/{cx.Value(cancelId)}", ct);
            return new CliOutput(CliOutput.Ok(new JsonObject { ["id"] = cx.Value(cancelId) }), $"cancelled reminder #{cx.Value(cancelId)}");
        });

        var retryId = new Argument<long>("id") { Description = "the reminder's id" };
        var retry = new Command("retry", "reset a failed reminder's attempts: the next tick delivers it again") { retryId };
        retry.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var reset = await api.PostAsync($"/api/reminders/{cx.Value(retryId)}/retry", null, ct);
            return new CliOutput(reset ?? CliOutput.Ok(new JsonObject { ["id"] = cx.Value(retryId) }), $"reminder #{cx.Value(retryId)} will be retried");
        });

        reminders.Subcommands.Add(cancel);
        reminders.Subcommands.Add(retry);
        root.Subcommands.Add(reminders);
    }
}
