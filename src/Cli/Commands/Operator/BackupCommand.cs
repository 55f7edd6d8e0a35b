using System.CommandLine;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>backup [--to DIR]</c>: the running host backs itself up (<c>POST /api/backup</c>): its database through SQLite's online
/// backup, its secrets and meta repo, into DIR (made by the host; it must not exist yet) or <c>&lt;DataDir&gt;/backups/&lt;time&gt;</c>.
/// The host writes it, so DIR is on the host's machine; a relative DIR is taken from here.
/// </summary>
public static class BackupCommand
{
    public static void AddTo(RootCommand root)
    {
        var to = new Option<string?>("--to") { Description = "the directory to make and write the backup into (default: <DataDir>/backups/<UTC time>)" };
        var command = new Command("backup", "back up the running hive (database, secrets, meta repo) into a directory a host can be started on") { to };
        command.SetRun(async (cx, ct) =>
        {
            var body = new JsonObject();
            if (cx.Value(to) is { } dir) body["to"] = Path.GetFullPath(dir);
            using var api = cx.Api();
            var taken = await api.PostAsync("/api/backup", body, ct) ?? new JsonObject();
            var parts = string.Join(", ", (taken["parts"] as JsonArray ?? []).Select(p => p?.GetValue<string>()));
            return new CliOutput(taken, $"backed up to {Text.Str(taken, "path")} ({parts}; database {Text.Str(taken, "database_bytes")} bytes, integrity {Text.Str(taken, "integrity")})\n");
        });
        root.Subcommands.Add(command);
    }
}
