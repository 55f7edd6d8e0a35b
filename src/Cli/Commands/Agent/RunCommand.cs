using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent;

/// <summary>
/// <c>hivectl run [--max N] -- COMMAND [ARGS...]</c>, the harness: it parks on <c>recv</c>; on each wake it takes what is
/// waiting (up to N) and runs COMMAND once with those messages (one JSON line each on stdin, then stdin closed; a
/// paragraph in <c>$HIVE_WAKE</c>), acknowledges them only when COMMAND exits 0 (a crash mid-turn leaves them in flight,
/// so they come back flagged redelivered: at least once, end to end), and records the turn (<c>record_turn</c>): model,
/// tokens, tool calls and cost when COMMAND prints Claude Code's stream-json, else timing and the exit status. SIGTERM or
/// Ctrl-C lets the current turn finish, then it exits 0.
/// </summary>
public static class RunCommand
{
    public static void AddTo(RootCommand root)
    {
        var max = new Option<int>("--max") { Description = "messages per turn, 1 to 32", DefaultValueFactory = _ => 32 };
        var argv = new Argument<string[]>("command") { Description = "the agent's command and its arguments, after --", Arity = ArgumentArity.OneOrMore };
        var command = new Command("run", "run COMMAND once per wake with the messages waiting, acknowledging them when it succeeds") { max, argv };
        command.SetAction(async (parse, ct) =>
        {
            var context = new CliContext(parse, Console.Out, Console.Error);
            string socket;
            try
            {
                socket = context.SocketPath;
                if (parse.GetValue(max) is < 1 or > 32) throw new UsageError("--max must be 1 to 32");
            }
            catch (UsageError e)
            {
                Console.Error.WriteLine($"hivectl: usage: {e.Message}");
                return CommandRunner.Usage;
            }
            return await new Harness(socket, parse.GetValue(max), parse.GetValue(argv)!).RunAsync(ct);
        });
        root.Subcommands.Add(command);
    }

    private sealed class Harness(string socketPath, int max, string[] argv)
    {
        /// <summary>What the harness itself says (host sentences included), terminal-safe; COMMAND's stdout is echoed as it is.</summary>
        private static readonly TextWriter Log = new TerminalWriter(Console.Error);

        private readonly CancellationTokenSource _stop = new();

        public async Task<int> RunAsync(CancellationToken ct)
        {
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stop.Token);
            try
            {
                await using var socket = await HiveSocketClient.ConnectAsync(socketPath, linked.Token);
                while (!linked.IsCancellationRequested)
                {
                    JsonObject reply;
                    try
                    {
                        // A parked recv cancelled by a stop closes the connection: the host returns what it had taken.
                        reply = await socket.CallAsync("recv", new JsonObject { ["wait_ms"] = AgentCommands.MaxWaitMs, ["max"] = max }, linked.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                    var messages = reply["messages"] is JsonArray batch ? batch.OfType<JsonObject>().ToList()
                        : reply["message"] is JsonObject one ? [one] : [];
                    if (messages.Count > 0) await TurnAsync(socket, messages); // a stop waits for the turn to end
                }
                return 0;
            }
            catch (CliError e)
            {
                Log.WriteLine($"hivectl: {e.Code}: {e.Message}");
                return CommandRunner.Failed;
            }
        }

        private void Stop(PosixSignalContext context)
        {
            context.Cancel = true; // not the default termination: the current turn finishes first
            _stop.Cancel();
        }

        private async Task TurnAsync(HiveSocketClient socket, List<JsonObject> messages)
        {
            var started = DateTimeOffset.UtcNow;
            var info = new ProcessStartInfo(argv[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in argv.Skip(1)) info.ArgumentList.Add(arg);
            info.Environment["HIVE_SOCKET"] = socketPath;
            info.Environment["HIVE_WAKE"] = WakeText(messages);
            var stream = new StreamJson();
            int exit;
            try
            {
                using var process = Process.Start(info) ?? throw new InvalidOperationException($"{argv[0]} did not start");
                var reading = Task.Run(async () =>
                {
                    while (await process.StandardOutput.ReadLineAsync() is { } line)
                    {
                        Console.Out.WriteLine(line);
                        stream.Read(line);
                    }
                });
                // Written while waiting for the exit: a COMMAND that exits without reading all of it ends the turn as it
                // exits, instead of leaving the harness blocked on a full pipe.
                var writing = WriteMessagesAsync(process.StandardInput, messages);
                await process.WaitForExitAsync();
                await writing;
                await reading;
                exit = process.ExitCode;
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                Log.WriteLine($"hivectl run: {argv[0]} could not run: {e.Message}");
                exit = -1;
            }
            var ended = DateTimeOffset.UtcNow;
            if (exit == 0)
                foreach (var message in messages)
                    await socket.CallAsync("ack", new JsonObject { ["id"] = message["id"]?.GetValue<long>() });
            var kind = exit == 0 && !stream.IsError ? "ok" : stream.PromptTooLong ? "prompt_too_long" : "failed";
            var turn = new JsonObject
            {
                ["model"] = stream.Model,
                ["wake_from"] = string.Join(",", messages.Select(m => m["from"]?.GetValue<string>()).Distinct()),
                ["result_kind"] = kind,
                ["started_at"] = started.ToString("O", CultureInfo.InvariantCulture),
                ["ended_at"] = ended.ToString("O", CultureInfo.InvariantCulture),
                ["input_tokens"] = stream.InputTokens, ["output_tokens"] = stream.OutputTokens,
                ["cache_read_tokens"] = stream.CacheReadTokens, ["cache_creation_tokens"] = stream.CacheCreationTokens,
                ["cost_usd"] = stream.CostUsd,
                ["tools"] = new JsonObject(stream.Tools.Select(t => KeyValuePair.Create(t.Key, (JsonNode?)t.Value))),
                ["note"] = exit == 0 ? null : $"exit code {exit}",
            };
            try
            {
                await socket.CallAsync("record_turn", turn);
            }
            catch (CliError e)
            {
                Log.WriteLine($"hivectl run: the turn was not recorded: {e.Code}: {e.Message}");
            }
            Log.WriteLine($"hivectl run: turn of {messages.Count} message(s): {kind} in {(ended - started).TotalMilliseconds:0} ms" +
                          (exit == 0 ? ", acknowledged" : $", exit {exit}: not acknowledged, they come back"));
        }

        /// <summary>
        /// The turn's messages on COMMAND's stdin, one JSON line each, then stdin closed. Whether COMMAND reads them is its
        /// business: when it closes stdin or exits first, the write fails with a broken pipe, which is not the harness's
        /// failure (the turn's outcome is COMMAND's exit status).
        /// </summary>
        private static async Task WriteMessagesAsync(StreamWriter stdin, List<JsonObject> messages)
        {
            try
            {
                foreach (var message in messages) await stdin.WriteLineAsync(message.ToJsonString());
                stdin.Close();
            }
            catch (IOException)
            {
                stdin.BaseStream.Dispose(); // EPIPE: COMMAND stopped reading. Our end is closed without another flush.
            }
        }

        private static string WakeText(List<JsonObject> messages)
        {
            var from = messages.Select(m => m["from"]?.GetValue<string>()).Distinct();
            var redelivered = messages.Where(m => m["redelivered"]?.GetValue<bool>() == true).Select(m => m["id"]?.ToString()).ToList();
            var text = new StringBuilder($"You have {messages.Count} new message(s) from {string.Join(", ", from)}, one JSON object per line on stdin.");
            if (redelivered.Count > 0)
                text.Append($" Message(s) {string.Join(", ", redelivered)} were handed out before and not acknowledged: possibly already handled, so check before acting twice.");
            return text.ToString();
        }
    }

    /// <summary>What Claude Code's <c>--output-format stream-json</c> says of a turn; lines that are not it are ignored.</summary>
    private sealed class StreamJson
    {
        public string? Model { get; private set; }
        public long? InputTokens { get; private set; }
        public long? OutputTokens { get; private set; }
        public long? CacheReadTokens { get; private set; }
        public long? CacheCreationTokens { get; private set; }
        public double? CostUsd { get; private set; }
        public bool IsError { get; private set; }
        public bool PromptTooLong { get; private set; }
        public Dictionary<string, long> Tools { get; } = new(StringComparer.Ordinal);

        public void Read(string line)
        {
            if (!line.StartsWith('{')) return;
            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                switch (root.TryGetProperty("type", out var type) ? type.GetString() : null)
                {
                    case "assistant" when root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object:
                        if (message.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String) Model = model.GetString();
                        if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                            foreach (var block in content.EnumerateArray())
                                if (block.ValueKind == JsonValueKind.Object && block.TryGetProperty("type", out var t) && t.GetString() == "tool_use"
                                    && block.TryGetProperty("name", out var name) && name.GetString() is { Length: > 0 and <= 64 } tool)
                                    Tools[tool] = Tools.GetValueOrDefault(tool) + 1;
                        break;
                    case "result":
                        IsError = root.TryGetProperty("is_error", out var error) && error.ValueKind == JsonValueKind.True;
                        PromptTooLong = root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.String
                                        && result.GetString()!.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase);
                        if (root.TryGetProperty("total_cost_usd", out var cost) && cost.ValueKind == JsonValueKind.Number
                            && cost.TryGetDouble(out var usd) && double.IsFinite(usd) && usd is >= 0 and <= 1_000_000)
                            CostUsd = usd;
                        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                        {
                            InputTokens = Number(usage, "input_tokens");
                            OutputTokens = Number(usage, "output_tokens");
                            CacheReadTokens = Number(usage, "cache_read_input_tokens");
                            CacheCreationTokens = Number(usage, "cache_creation_input_tokens");
                        }
                        break;
                }
            }
            catch (JsonException)
            {
            }
        }

        private static long? Number(JsonElement usage, string name) =>
            usage.TryGetProperty(name, out var value) && value.TryGetInt64(out var n) && n >= 0 ? n : null;
    }
}
