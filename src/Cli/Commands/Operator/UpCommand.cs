using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>hivectl up -f swarm.json</c>: makes the hive's agents what the file lists, idempotently. An agent that is missing is
/// created; one whose configuration differs gets the file's (the diff shown; the change recorded as the operator's own
/// approval in the meta repo, and exactly that agent rebuilt); one that matches is left alone, as is every agent the file
/// does not name. <c>--dry-run</c> shows the plan and changes nothing. The file is checked whole before anything is done.
/// </summary>
public static class UpCommand
{
    /// <summary>The fields of an entry: those of <c>POST /api/agents</c>.</summary>
    private static readonly HashSet<string> Fields =
        ["name", "preset", "command", "driver", "purpose", "env", "secrets", "mounts", "restart", "inputs", "allowed_recipients", "provider", "limits", "capabilities", "network", "egress", "egress_ask", "permissions", "parent", "may_spawn", "providers", "models"];

    public static void AddTo(RootCommand root)
    {
        var file = new Option<string>("--file", "-f") { Description = "the swarm file (JSON: {\"agents\": [{name, preset | command, ...}]}; - for stdin)", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "show what would change, change nothing" };
        var command = new Command("up", "make the hive's agents what a swarm file lists: create the missing, change the different, leave the rest")
            { file, dryRun };
        command.SetRun(async (cx, ct) =>
        {
            var entries = await ReadAsync(cx.Value(file)!, ct);
            using var api = cx.Api();
            var existing = (await api.GetAsync("/api/agents", ct) as JsonArray ?? [])
                .ToDictionary(a => Text.Str(a, "name") ?? "", a => Text.Str(a, "driver"), StringComparer.Ordinal);
            var report = new StringBuilder();
            var results = new JsonArray();
            var failed = new List<string>();
            foreach (var entry in entries)
            {
                var name = entry["name"]!.GetValue<string>();
                string action;
                string? diff = null;
                try
                {
                    (action, diff) = await ApplyAsync(api, entry, existing.TryGetValue(name, out var driver) ? driver ?? "" : null, cx.Value(dryRun), ct);
                }
                catch (CliError e) when (e.Code != "unavailable" && e.Code != "unauthorized")
                {
                    // One agent refused is said, and the others still go ahead.
                    action = $"failed: {e.Code}: {e.Message}";
                    failed.Add(name);
                }
                results.Add(new JsonObject { ["name"] = name, ["action"] = action, ["diff"] = diff });
                report.AppendLine($"{name}: {action}");
                if (diff is { Length: > 0 }) report.Append(Indent(diff));
            }
            var summary = new JsonObject { ["agents"] = results, ["dry_run"] = cx.Value(dryRun) };
            if (failed.Count == 0) return new CliOutput(CliOutput.Ok(summary), report.ToString().TrimEnd());
            var error = new CliError("failed", $"{failed.Count} of {entries.Count} agents failed ({string.Join(", ", failed)}):\n{report.ToString().TrimEnd()}");
            error.Data["json"] = summary;
            throw error;
        });
        root.Subcommands.Add(command);
    }

    /// <summary>One entry: (what was done or would be, the diff when a configuration changes).</summary>
    private static async Task<(string Action, string? Diff)> ApplyAsync(HiveApiClient api, JsonObject entry, string? driver, bool dryRun, CancellationToken ct)
    {
        var name = entry["name"]!.GetValue<string>();
        var external = entry["driver"]?.GetValue<string>() == "external";
        // Missing, or the manager still run from outside while the file says how Hive should run it: created.
        if (driver is null || (driver == "external" && !external && name == "manager"))
        {
            if (dryRun) return ("would be created", null);
            await api.PostAsync("/api/agents", entry.DeepClone(), ct);
            return ("created", null);
        }
        if (external || driver == "external")
            return (external == (driver == "external") ? "up to date (external)" : $"left alone: it is {(external ? "run by Hive" : "external")}, the file says otherwise; destroy it first to change that", null);

        var config = (JsonObject)entry.DeepClone();
        config.Remove("name");
        var path = $"/api/agents/{Uri.EscapeDataString(name)}/config";
        var preview = await api.SendAsync(HttpMethod.Put, path + "?dry_run=true", config.DeepClone(), ct);
        var diff = preview?["diff"]?.GetValue<string>() ?? "";
        if (preview?["changed"]?.GetValue<bool>() != true) return ("up to date", null);
        if (dryRun) return ("would change", diff);
        var applied = await api.SendAsync(HttpMethod.Put, path, config, ct);
        return (applied?["approval_id"] is { } id ? $"changed (approval {id}), rebuilt" : "up to date", diff);
    }

    /// <summary>The file's entries, each checked: a name, known fields only, no name twice.</summary>
    private static async Task<List<JsonObject>> ReadAsync(string file, CancellationToken ct)
    {
        string text;
        try
        {
            text = file == "-" ? await Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(file, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageError($"cannot read {file}: {e.Message}");
        }
        JsonNode? document;
        try
        {
            document = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new UsageError($"{file} is not JSON: {e.Message}");
        }
        if (document is not JsonObject { } root || root["agents"] is not JsonArray list)
            throw new UsageError($"{file} must be a JSON object with an \"agents\" array");
        var extra = root.Select(p => p.Key).Where(k => k != "agents").ToList();
        if (extra.Count > 0) throw new UsageError($"{file}: unknown field(s) {string.Join(", ", extra)}; the file has \"agents\" only");
        var entries = new List<JsonObject>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is not JsonObject entry) throw new UsageError($"{file}: agents[{i}] is not an object");
            if (entry["name"] is not JsonValue v || !v.TryGetValue<string>(out var name) || name.Length == 0)
                throw new UsageError($"{file}: agents[{i}] has no name");
            var unknown = entry.Select(p => p.Key).Where(k => !Fields.Contains(k)).ToList();
            if (unknown.Count > 0)
                throw new UsageError($"{file}: {name}: unknown field(s) {string.Join(", ", unknown)}; an entry has {string.Join(", ", Fields)}");
            if (!names.Add(name)) throw new UsageError($"{file}: {name} is listed twice");
            entries.Add(entry);
        }
        return entries;
    }

    private static string Indent(string diff) =>
        string.Concat(diff.Split('\n').Where(l => l.Length > 0).Select(l => "    " + l + "\n"));
}
