using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>template</c>: a team carried from one hive to another. <c>export AGENT|--swarm [--subtree] DIR</c> writes the
/// template the hive makes (<c>swarm.json</c>, the presets it uses, <c>manifest.json</c> sealing them; secret names, never
/// values) into a new directory; <c>import DIR [--prefix P] [--dry-run]</c> shows what it would make and asks the operator
/// through one approval; <c>diff DIR [--prefix P]</c> shows how the live agents drifted from it. The host checks the
/// template: this command only moves its files.
/// </summary>
public static class TemplateCommands
{
    public static void AddTo(RootCommand root)
    {
        var template = new Command("template", "save agents as a template, make them again from one, or see how they drifted");

        var agent = new Argument<string?>("agent") { Description = "the agent to export (with --subtree, everything under it too)", Arity = ArgumentArity.ZeroOrOne };
        var exportDir = new Argument<string>("dir") { Description = "a new (or empty) directory to write the template into" };
        var swarm = new Option<bool>("--swarm") { Description = "every agent the hive runs but the manager" };
        var subtree = new Option<bool>("--subtree") { Description = "the agent and everything under it" };
        var name = new Option<string?>("--name") { Description = "the template's name (default: the agent's, or swarm)" };
        var export = new Command("export", "write an agent, its subtree or the swarm as a template directory") { agent, exportDir, swarm, subtree, name };
        export.SetRun(async (cx, ct) =>
        {
            var (one, all) = (cx.Value(agent), cx.Value(swarm));
            if ((one is null) == !all) throw new UsageError("give an agent or --swarm (one of them)");
            var dir = Path.GetFullPath(cx.Value(exportDir)!);
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any()) throw new UsageError($"{dir} is not empty: export into a new directory");
            var query = new StringBuilder(all ? "swarm=true" : $"agent={Uri.EscapeDataString(one!)}");
            if (cx.Value(subtree)) query.Append("&subtree=true");
            if (cx.Value(name) is { } n) query.Append("&name=").Append(Uri.EscapeDataString(n));
            using var api = cx.Api();
            var files = (await api.GetAsync($"/api/templates/export?{query}", ct))?["files"] as JsonObject ?? [];
            foreach (var (path, text) in files)
            {
                var target = Path.GetFullPath(Path.Combine(dir, path));
                if (!target.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal)) throw new CliError("failed", $"the host sent a file outside the directory: {path}");
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await File.WriteAllTextAsync(target, text!.GetValue<string>(), ct);
            }
            var written = new JsonObject { ["dir"] = dir, ["files"] = new JsonArray(files.Select(f => (JsonNode?)f.Key).ToArray()) };
            return new CliOutput(written, $"wrote {files.Count} files to {dir}:\n" + string.Join("\n", files.Select(f => "  " + f.Key)));
        });

        var importDir = new Argument<string>("dir") { Description = "the template directory" };
        var prefix = new Option<string?>("--prefix") { Description = "put in front of every agent's name (e.g. t2-)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "show what would be made, change nothing" };
        var import = new Command("import", "make a template's agents here, through one approval (the plan shown first)") { importDir, prefix, dryRun };
        import.SetRun(async (cx, ct) =>
        {
            var body = new JsonObject { ["files"] = await ReadAsync(cx.Value(importDir)!, ct), ["prefix"] = cx.Value(prefix), ["dry_run"] = cx.Value(dryRun) };
            using var api = cx.Api();
            var reply = await api.PostAsync("/api/templates/import", body, ct);
            var plan = Text.Str(reply, "plan") ?? "";
            var missing = (reply?["missing_secrets"] as JsonArray ?? []).Select(s => s!.GetValue<string>()).ToList();
            var tail = reply?["approval_id"] is { } id
                ? $"\napproval {id} asks the operator to make these agents (hivectl approvals approve {id})"
                : $"\ndry run: nothing was made{(missing.Count > 0 ? $"; set the missing secrets first ({string.Join(", ", missing)})" : "")}";
            return new CliOutput(reply, plan.TrimEnd() + tail);
        });

        var diffDir = new Argument<string>("dir") { Description = "the template directory" };
        var diffPrefix = new Option<string?>("--prefix") { Description = "the prefix it was imported with" };
        var diff = new Command("diff", "how the live agents drifted from a template") { diffDir, diffPrefix };
        diff.SetRun(async (cx, ct) =>
        {
            var body = new JsonObject { ["files"] = await ReadAsync(cx.Value(diffDir)!, ct), ["prefix"] = cx.Value(diffPrefix) };
            using var api = cx.Api();
            var reply = await api.PostAsync("/api/templates/diff", body, ct);
            var text = new StringBuilder();
            foreach (var a in reply?["agents"] as JsonArray ?? [])
            {
                text.AppendLine($"{Text.Str(a, "name")}: {Text.Str(a, "state")}");
                foreach (var f in a?["fields"] as JsonArray ?? [])
                    text.AppendLine($"  {Text.Str(f, "field")}:\n    - {Text.Str(f, "template") ?? "(not set)"}\n    + {Text.Str(f, "live") ?? "(not set)"}");
            }
            return new CliOutput(reply, text.ToString().TrimEnd());
        });

        template.Subcommands.Add(export);
        template.Subcommands.Add(import);
        template.Subcommands.Add(diff);
        root.Subcommands.Add(template);
    }

    /// <summary>The template directory's files by their path in it (the host checks what they are).</summary>
    private static async Task<JsonObject> ReadAsync(string dir, CancellationToken ct)
    {
        if (!Directory.Exists(dir)) throw new UsageError($"{dir} is not a directory");
        var root = Path.GetFullPath(dir);
        var files = new JsonObject();
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (files.Count >= 64) throw new UsageError($"{dir} has more files than a template may (64)");
            if (new FileInfo(file).Length > 1024 * 1024) throw new UsageError($"{Path.GetRelativePath(root, file)} is larger than a template may be (1 MiB)");
            files[Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/')] = await File.ReadAllTextAsync(file, ct);
        }
        return files;
    }
}
