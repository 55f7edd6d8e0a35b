using System.CommandLine;
using System.Text.Json.Nodes;
using Hive.Contracts.Reminders;

namespace Hive.Cli.Commands.Agent;

/// <summary><c>remind</c>: a reminder to the agent itself, or, as the operator, to one named (once, or recurring on a cron).</summary>
internal static class AgentRemindCommand
{
    internal static Command Remind()
    {
        var body = new Argument<string>("body") { Description = "what the reminder says when it comes back" };
        var inSeconds = new Option<long?>("--in") { Description = "due in this many seconds" };
        var at = new Option<string?>("--at") { Description = "due at this ISO-8601 time (UTC, e.g. 2026-11-22T09:00:00Z)" };
        var payload = new Option<string?>("--payload") { Description = "a state file the reminder points at (payload_path)" };
        var to = new Option<string?>("--to") { Description = "the agent the reminder is for (the operator's form; an agent reminds only itself)" };
        var cron = new Option<string?>("--cron") { Description = "a recurring reminder: five cron fields, e.g. '0 9 * * 1-5'" };
        var zone = new Option<string?>("--tz") { Description = "the IANA time zone --cron is read in (default UTC)" };
        var catchUp = new Option<string?>("--catch-up") { Description = "runs missed while the hive was down: skip (default) or one" };
        var overlap = new Option<string?>("--overlap") { Description = "skip_if_pending (default: no run while the last is unacknowledged) or always" };
        var command = new Command("remind",
            "schedule a reminder (--in SECONDS, --at ISO, or --cron for a recurring one): to yourself as an agent, or --to AGENT as the operator (no socket, or --as-operator)")
            { body, inSeconds, at, payload, to, cron, zone, catchUp, overlap, AgentCommands.AsOperator };
        var rest = VerbOptions.AddTo(command, ReminderVerbs.Remind, "body", "to", "in_seconds", "due_at", "cron", "time_zone", "catch_up", "overlap", "payload_path");
        command.SetRun(async (cx, ct) =>
        {
            var asAgent = cx.SpeaksAsAgent(AgentCommands.AsOperator);
            var target = cx.Value(to);
            if (asAgent && target is not null) throw new UsageError("--to is the operator's (an agent reminds only itself): leave out --socket and $HIVE_SOCKET, or give --as-operator");
            if (!asAgent && target is null) throw new UsageError("as the operator (no --socket or $HIVE_SOCKET), say whom to remind: --to AGENT");
            var fields = new JsonObject { ["body"] = cx.Value(body) };
            if (target is not null) fields["to"] = target;
            switch (cx.Value(inSeconds), cx.Value(at), cx.Value(cron))
            {
                case ({ } s, null, null): fields["in_seconds"] = s; break;
                case (null, { } when, null): fields["due_at"] = AgentCommands.IsoTime(when, "--at"); break;
                case (null, null, { } expression):
                    fields["cron"] = expression;
                    if (cx.Value(zone) is { } z) fields["time_zone"] = z;
                    if (cx.Value(catchUp) is { } c) fields["catch_up"] = c;
                    if (cx.Value(overlap) is { } o) fields["overlap"] = o;
                    break;
                default: throw new UsageError("give exactly one of --in SECONDS, --at ISO and --cron EXPRESSION");
            }
            if (cx.Value(cron) is null && (cx.Value(zone) ?? cx.Value(catchUp) ?? cx.Value(overlap)) is not null)
                throw new UsageError("--tz, --catch-up and --overlap go with --cron");
            if (cx.Value(payload) is { } p) fields["payload_path"] = p;
            rest.Fill(cx.Parse, fields);
            if (!asAgent)
            {
                var scheduled = await AgentCommands.AsTheOperatorAsync(cx, api => api.PostAsync("/api/reminders", fields, ct)) ?? new JsonObject();
                return new CliOutput(scheduled, cx.Value(cron) is null
                    ? $"reminder #{Text.Str(scheduled, "id")} for {Text.Str(scheduled, "agent")} due {Text.Str(scheduled, "due_at")}"
                    : $"recurring reminder #{Text.Str(scheduled, "id")} for {Text.Str(scheduled, "agent")}, next {NextRuns(scheduled)}");
            }
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("remind", fields, ct);
            return new CliOutput(reply, cx.Value(cron) is null
                ? $"reminder #{Text.Str(reply, "id")} scheduled"
                : $"recurring reminder #{Text.Str(reply, "id")} set, next {NextRuns(reply)}");
        });
        return command;
    }

    private static string NextRuns(JsonNode reply) =>
        reply["next_runs"] is JsonArray runs ? string.Join(", ", runs.Select(r => r?.GetValue<string>())) : "none";
}
