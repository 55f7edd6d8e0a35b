using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>secrets</c>: the operator's secrets by name and date (<c>list</c>), <c>set NAME</c> with the value read from stdin
/// (never from the command line, where <c>ps</c> and the shell's history would see it), <c>delete NAME</c>. The value is
/// never printed back.
/// </summary>
public static class SecretsCommands
{
    public static void AddTo(RootCommand root)
    {
        var secrets = new Command("secrets", "the operator's secrets, which agents get in their environment by name");

        var list = new Command("list", "every secret's name and when it was last set (never a value)");
        list.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var items = await api.GetAsync("/api/secrets", ct) as JsonArray ?? [];
            return new CliOutput(items, Text.Table(["NAME", "UPDATED"],
                items.Select(s => (IReadOnlyList<string?>)[Text.Str(s, "name"), Text.Str(s, "updated_at")])));
        });

        var setName = new Argument<string>("name") { Description = "the secret's name (^[a-z][a-z0-9_-]{0,63}$)" };
        var set = new Command("set", "set a secret from stdin (one trailing newline is dropped; at a terminal, typed without echo)") { setName };
        set.SetRun(async (cx, ct) =>
        {
            var value = await ReadValueAsync(cx, ct);
            using var api = cx.Api();
            var saved = await api.SendAsync(HttpMethod.Put, $"/api/secrets/{Uri.EscapeDataString(cx.Value(setName)!)}", new JsonObject { ["value"] = value }, ct);
            return new CliOutput(saved, $"secret {Text.Str(saved, "name")} set ({Text.Str(saved, "updated_at")})");
        });

        var deleteName = new Argument<string>("name") { Description = "the secret's name" };
        var delete = new Command("delete", "delete a secret (agents that use it cannot start until it is set again)") { deleteName };
        delete.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            await api.DeleteAsync($"/api/secrets/{Uri.EscapeDataString(cx.Value(deleteName)!)}", ct);
            return new CliOutput(CliOutput.Ok(new JsonObject { ["name"] = cx.Value(deleteName) }), $"secret {cx.Value(deleteName)} deleted");
        });

        secrets.Subcommands.Add(list);
        secrets.Subcommands.Add(set);
        secrets.Subcommands.Add(delete);
        root.Subcommands.Add(secrets);
    }

    /// <summary>The value from stdin as UTF-8 (one trailing <c>\n</c> or <c>\r\n</c> dropped, as <c>echo</c> adds one); at a terminal, one line typed without echo.</summary>
    private static async Task<string> ReadValueAsync(CliContext cx, CancellationToken ct)
    {
        string value;
        if (!Console.IsInputRedirected)
        {
            await cx.Err.WriteAsync("value (not echoed), then Enter: ");
            var typed = new StringBuilder();
            for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
            {
                if (key.Key == ConsoleKey.Backspace) { if (typed.Length > 0) typed.Length--; }
                else if (key.KeyChar != '\0') typed.Append(key.KeyChar);
            }
            await cx.Err.WriteLineAsync();
            value = typed.ToString();
        }
        else
        {
            using var buffer = new MemoryStream();
            await using (var stdin = Console.OpenStandardInput())
                await stdin.CopyToAsync(buffer, ct);
            try
            {
                value = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.ToArray());
            }
            catch (DecoderFallbackException)
            {
                throw new CliError("validation", "the value on stdin is not UTF-8 text");
            }
            if (value.EndsWith("\r\n", StringComparison.Ordinal)) value = value[..^2];
            else if (value.EndsWith('\n')) value = value[..^1];
        }
        return value.Length == 0 ? throw new CliError("validation", "no value on stdin: pipe it in, e.g. hivectl secrets set NAME < key-file") : value;
    }
}
