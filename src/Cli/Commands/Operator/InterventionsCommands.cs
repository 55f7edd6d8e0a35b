using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// The guardian's audit trail (<c>/api/interventions</c>): <c>interventions [--agent A] [--actor X] [--since ISO]
/// [--before ID] [--limit N]</c> lists them newest first (who, authority, action, target, before → after, reason, and by
/// which one each was reverted); <c>interventions revert ID</c> undoes one by its opposite action, recorded as an
/// intervention of its own (the host refuses a lower authority's revert with forbidden, and one reverted already or
/// that cannot be undone with conflict and why).
/// </summary>
public static class InterventionsCommands
{
    public static void AddTo(RootCommand root)
    {
        var agent = new Option<string?>("--agent") { Description = "only those on this agent (its name as the target)" };
        var actor = new Option<string?>("--actor") { Description = "only those by this actor: operator, manager, hive, or an agent's name" };
        var since = new Option<string?>("--since") { Description = "only those at or after this time (ISO 8601, e.g. 2026-11-23T09:00:00Z)" };
        var before = new Option<long?>("--before") { Description = "only those older than this id (the next page: the last id shown)" };
        var limit = new Option<int?>("--limit") { Description = "at most this many, 1 to 500 (default 50)" };
        var command = new Command("interventions", "every action that overrode an agent's course, newest first (alone: list them; revert ID undoes one)")
            { agent, actor, since, before, limit };
        command.SetRun(async (cx, ct) =>
        {
            var query = new List<string>();
            void Add(string name, string? value) { if (value is not null) query.Add($"{name}={Uri.EscapeDataString(value)}"); }
            Add("agent", cx.Value(agent));
            Add("actor", cx.Value(actor));
            if (cx.Value(since) is { } text)
            {
                if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                    throw new UsageError($"--since {text} is not a time: give an ISO 8601 one, e.g. 2026-11-23T09:00:00Z");
                Add("since", at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            }
            Add("before", cx.Value(before)?.ToString(CultureInfo.InvariantCulture));
            Add("limit", cx.Value(limit)?.ToString(CultureInfo.InvariantCulture));
            using var api = cx.Api();
            var list = await api.GetAsync("/api/interventions" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), ct) as JsonArray ?? [];
            return new CliOutput(list, Table(list));
        });
        command.Subcommands.Add(Revert());
        root.Subcommands.Add(command);
    }

    private static Command Revert()
    {
        var id = new Argument<long>("id") { Description = "the intervention's id (as interventions lists it)" };
        var command = new Command("revert", "undo an intervention: its opposite action (a pause by a resume, a halt by a resume, a budget by its caps before), recorded as one of its own")
            { id };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var reverted = await api.PostAsync($"/api/interventions/{cx.Value(id)}/revert", null, ct);
            var what = Text.Str(reverted, "target") is { } target ? $"{Text.Str(reverted, "action")} {target}" : Text.Str(reverted, "action");
            return new CliOutput(reverted, $"intervention #{Text.Str(reverted, "id")} ({what}) reverted by #{Text.Str(reverted, "reverted_by")}");
        });
        return command;
    }

    internal static string Table(JsonArray list) =>
        Text.Table(["ID", "AT", "ACTOR", "AUTHORITY", "ACTION", "TARGET", "CHANGE", "REVERTED BY", "REASON"],
            list.Select(i => (IReadOnlyList<string?>)
            [
                Text.Str(i, "id"), Text.Str(i, "at"), Text.Str(i, "actor"), Text.Str(i, "authority_name"), Text.Str(i, "action"), Text.Str(i, "target"),
                Change(i?["before"], i?["after"]), Text.Str(i, "reverted_by") is { } by ? $"#{by}" : null, Text.Str(i, "reason"),
            ]));

    /// <summary>
    /// Before → after in a compact form: of two objects only the fields that changed (<c>paused: no → yes</c>,
    /// <c>daily_usd: none → 2.5</c>); anything else whole; null when neither was recorded.
    /// </summary>
    internal static string? Change(JsonNode? before, JsonNode? after)
    {
        if (before is null && after is null) return null;
        if (before is JsonObject b && after is JsonObject a)
        {
            var changed = b.Select(p => p.Key).Union(a.Select(p => p.Key))
                .Where(k => !JsonNode.DeepEquals(b[k], a[k]))
                .Select(k => $"{k}: {Word(b[k])} → {Word(a[k])}").ToList();
            return changed.Count == 0 ? "no change" : string.Join(", ", changed);
        }
        return $"{Word(before)} → {Word(after)}";
    }

    private static string Word(JsonNode? value) => value switch
    {
        null => "none",
        JsonValue v when v.TryGetValue<bool>(out var yes) => yes ? "yes" : "no",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => o.Count == 0 ? "nothing" : string.Join(", ", o.Select(p => $"{p.Key} {Word(p.Value)}")),
        _ => value.ToJsonString(),
    };
}
