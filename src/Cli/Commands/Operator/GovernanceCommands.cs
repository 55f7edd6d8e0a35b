using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// The hive's throttle (<c>/api/governance</c>): <c>halt [--reason R]</c> stops all work and <c>resume [AGENT]</c> lets it
/// go on (all, or one agent <c>pause AGENT</c> stopped), <c>turns</c> shows the running turns, the queue and the quota
/// circuits, <c>quota-clear PROVIDER</c> ends a circuit early. Budgets are <see cref="BudgetCommand"/>.
/// </summary>
public static class GovernanceCommands
{
    public static void AddTo(RootCommand root)
    {
        root.Subcommands.Add(Halt());
        root.Subcommands.Add(Resume());
        root.Subcommands.Add(Pause());
        root.Subcommands.Add(Turns());
        root.Subcommands.Add(QuotaClear());
    }

    private static Command Halt()
    {
        var reason = new Option<string?>("--reason") { Description = "why, shown with the halt" };
        var command = new Command("halt", "stop all work at once: no turn is granted, running turns are stopped, every agent's recv returns nothing; resume undoes it")
            { reason };
        command.SetRun(async (cx, ct) =>
        {
            var body = new JsonObject();
            if (cx.Value(reason) is { } r) body["reason"] = r;
            using var api = cx.Api();
            var governance = await api.PostAsync("/api/governance/halt", body, ct);
            return new CliOutput(governance, Halted(governance) ?? "the hive is halted");
        });
        return command;
    }

    private static Command Resume()
    {
        var agent = new Argument<string?>("agent") { Description = "one paused agent (without one: end the hive's halt)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("resume", "end the halt (or, given an agent, that agent's pause)") { agent };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            if (cx.Value(agent) is { } name)
            {
                var after = await api.PostAsync($"/api/governance/agents/{Uri.EscapeDataString(name)}/resume", null, ct);
                return new CliOutput(after, $"{name} resumed" + (Halted(after) is { } still ? $" ({still})" : ""));
            }
            var governance = await api.PostAsync("/api/governance/resume", null, ct);
            var paused = (governance?["paused"] as JsonArray ?? []).Select(p => Text.Str(p, "agent")).ToList();
            return new CliOutput(governance, "the hive is running" + (paused.Count > 0 ? $" (still paused: {string.Join(", ", paused)})" : ""));
        });
        return command;
    }

    private static Command Pause()
    {
        var agent = new Argument<string>("agent") { Description = "the agent" };
        var command = new Command("pause", "stop one agent's work (its running turn is stopped, none is granted, its recv returns nothing) until resume AGENT")
            { agent };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var governance = await api.PostAsync($"/api/governance/agents/{Uri.EscapeDataString(cx.Value(agent)!)}/pause", null, ct);
            return new CliOutput(governance, $"{cx.Value(agent)} paused");
        });
        return command;
    }

    private static Command Turns()
    {
        var command = new Command("turns", "the running turns with their age, the queue in order, and the quota circuits");
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var governance = await api.GetAsync("/api/governance", ct) ?? new JsonObject();
            return new CliOutput(governance, TurnsText(governance, DateTimeOffset.UtcNow));
        });
        command.Subcommands.Add(EndTurn());
        return command;
    }

    private static Command EndTurn()
    {
        var id = new Argument<long>("id") { Description = "the turn's id (as turns lists it)" };
        var reason = new Option<string?>("--reason") { Description = "why, recorded with the intervention" };
        var command = new Command("end", "end a running turn now: its command is stopped and its messages come back to the agent, flagged") { id, reason };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var body = cx.Value(reason) is { } why ? new JsonObject { ["reason"] = why } : null;
            var governance = await api.PostAsync($"/api/governance/turns/{cx.Value(id)}/end", body, ct);
            return new CliOutput(governance, $"turn {cx.Value(id)} ended");
        });
        return command;
    }

    private static Command QuotaClear()
    {
        var provider = new Argument<string>("provider") { Description = "the provider (as turns lists its circuit)" };
        var command = new Command("quota-clear", "end a provider's quota circuit before its time: its agents get turns again") { provider };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var governance = await api.DeleteAsync($"/api/governance/circuits/{Uri.EscapeDataString(cx.Value(provider)!)}", ct);
            return new CliOutput(governance ?? CliOutput.Ok(new JsonObject { ["provider"] = cx.Value(provider) }), $"the {cx.Value(provider)} quota circuit is cleared");
        });
        return command;
    }

    /// <summary><c>halted by operator since T: reason</c>, or null when the hive is not halted.</summary>
    private static string? Halted(JsonNode? governance) =>
        governance?["halted"] is JsonObject halted
            ? $"the hive is halted by {Text.Str(halted, "by")} since {Text.Str(halted, "since")}" + (Text.Str(halted, "reason") is { } why ? $": {why}" : "")
            : null;

    internal static string TurnsText(JsonNode governance, DateTimeOffset now)
    {
        var text = new StringBuilder();
        if (Halted(governance) is { } halted) text.Append(halted).Append('\n');
        var caps = governance["provider_caps"] as JsonObject ?? new JsonObject();
        text.Append($"slots: {Text.Str(governance, "slots_in_use") ?? "?"} of {Text.Str(governance, "max_concurrent_turns") ?? "?"} in use")
            .Append(caps.Count > 0 ? $" (at most {string.Join(", ", caps.Select(c => $"{c.Value} on {c.Key}"))})" : "").Append('\n');

        text.Append("running:\n").Append(Text.Table(["TURN", "AGENT", "PROVIDER", "AGE", "STATE"],
            (governance["running"] as JsonArray ?? []).Select(t => (IReadOnlyList<string?>)
                [Text.Str(t, "turn_id"), Text.Str(t, "agent"), Text.Str(t, "provider"), Since(t, "granted_at", now), Text.Str(t, "state")])));
        var place = 0;
        text.Append("queue:\n").Append(Text.Table(["#", "AGENT", "WAITING", "REASON", "UNTIL", "WAKE"],
            (governance["queue"] as JsonArray ?? []).Select(q => (IReadOnlyList<string?>)
            [
                (++place).ToString(CultureInfo.InvariantCulture), Text.Str(q, "agent"), Since(q, "since", now), Text.Str(q, "reason"), Text.Str(q, "until"),
                q?["operator_wake"]?.GetValue<bool>() == true ? "operator" : null,
            ])));
        if (governance["paused"] is JsonArray { Count: > 0 } paused)
            text.Append("paused: ").Append(string.Join(", ", paused.Select(p => $"{Text.Str(p, "agent")} (by {Text.Str(p, "by")} since {Text.Str(p, "since")})"))).Append('\n');
        text.Append("circuits:\n").Append(Text.Table(["PROVIDER", "UNTIL", "SINCE", "SOURCE"],
            (governance["circuits"] as JsonArray ?? []).Select(c => (IReadOnlyList<string?>)
                [Text.Str(c, "provider"), Text.Str(c, "until"), Text.Str(c, "since"), Text.Str(c, "source")])));
        return text.ToString();
    }

    private static string? Since(JsonNode? item, string field, DateTimeOffset now) =>
        DateTimeOffset.TryParse(Text.Str(item, field), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? Text.Age(now - at) : null;
}
