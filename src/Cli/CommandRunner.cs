using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hive.Cli;

/// <summary>
/// Wires a command's body to System.CommandLine with hivectl's one contract: with <c>--json</c> exactly one JSON document
/// on stdout (the reply, or <c>{"ok":false,"error","code"}</c>), otherwise text; exit 0 ok, 1 refused or failed (the code
/// and sentence on stderr), 2 usage.
/// </summary>
public static class CommandRunner
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    internal static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    public static void SetRun(this Command command, Func<CliContext, CancellationToken, Task<CliOutput>> body) =>
        command.SetAction((parse, ct) => RunAsync(parse, body, ct));

    public static async Task<int> RunAsync(ParseResult parse, Func<CliContext, CancellationToken, Task<CliOutput>> body, CancellationToken ct)
    {
        var context = new CliContext(parse, Console.Out, Console.Error);
        try
        {
            var output = await body(context, ct);
            if (context.Json)
            {
                if (output.Json is not null) context.Out.WriteLine(output.Json.ToJsonString(Compact));
            }
            else if (output.Text is not null)
            {
                context.Out.Write(output.Text.EndsWith('\n') || output.Text.Length == 0 ? output.Text : output.Text + "\n");
            }
            return Ok;
        }
        catch (CliError e)
        {
            return Fail(context, e.Code, e.Message, Failed, (e.Data["json"] as JsonObject));
        }
        catch (UsageError e)
        {
            return Fail(context, "usage", e.Message, Usage, null);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 130; // Ctrl-C
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Something this client did not expect (a reply of an unexpected shape): a failure, said in one line.
            return Fail(context, "failed", e.Message, Failed, null);
        }
    }

    public static int Fail(CliContext context, string code, string message, int exitCode, JsonObject? extra)
    {
        if (context.Json)
        {
            var error = new JsonObject { ["ok"] = false, ["error"] = message, ["code"] = code };
            if (extra is not null)
                foreach (var (key, value) in extra) error[key] = value?.DeepClone();
            context.Out.WriteLine(error.ToJsonString(Compact));
        }
        context.Err.WriteLine($"hivectl: {code}: {message}");
        return exitCode;
    }
}
