using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>
/// One run of COMMAND in a turn of <see cref="Harness"/>: its argv and environment for the conversation, its stdin (the
/// messages, or a compaction's instruction), its stdout read as it comes, and its stop when the hive revokes the turn.
/// </summary>
internal sealed class CommandRun(string socketPath, string[] argv, HarnessOptions options, TextWriter log)
{
    /// <summary>
    /// What a compaction pass gives COMMAND (Claude Code's <c>/compact</c> with instructions): a checkpoint of what matters
    /// survives the summary.
    /// </summary>
    public const string CompactPrompt =
        "/compact Checkpoint before compacting: keep what you are working on and why, what you promised to whom, the open " +
        "threads and questions, and where your notes and files are; drop the rest.";

    /// <summary>
    /// Whether COMMAND must show the hive's MCP server connected: Claude Code (<c>--claude</c>) given an
    /// <c>--mcp-config</c>, as the preset runs it. Claude Code connects MCP servers asynchronously and goes on without one
    /// that is late; a turn without the hive's tools cannot reply to anyone, so it must not count as handled.
    /// </summary>
    private bool ExpectsHiveServer => options.Claude && argv.Contains("--mcp-config");

    /// <summary>How long Claude Code gets to end after SIGTERM when the hive's tools are missing, before SIGKILL.</summary>
    private static readonly TimeSpan MissingToolsGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// COMMAND's argv for this run. With <c>--claude</c>, Claude Code's flags are appended (<c>--resume ID</c>,
    /// <c>--model NAME</c>), and a compaction pass replaces <c>-p</c>'s prompt by <see cref="CompactPrompt"/>. Without it,
    /// argv is as given and a wrapper reads <c>$HIVE_SESSION_ID</c>, <c>$HIVE_MODEL</c>, <c>$HIVE_COMPACT</c>.
    /// </summary>
    private (string[] Argv, bool PromptInArgv) CommandLine(Conversation conversation, bool compact)
    {
        if (!options.Claude) return (argv, false);
        var line = argv.ToList();
        var prompted = false;
        if (compact)
        {
            var p = line.FindIndex(a => a is "-p" or "--print");
            if (p >= 0 && p + 1 < line.Count && !line[p + 1].StartsWith('-'))
            {
                line[p + 1] = CompactPrompt;
                prompted = true;
            }
        }
        if (conversation.SessionId is { } session) line.AddRange(["--resume", session]);
        if (conversation.Model is { } model) line.AddRange(["--model", model]);
        return (line.ToArray(), prompted);
    }

    /// <summary>
    /// Runs COMMAND once with <paramref name="messages"/> on stdin (or a compaction pass), echoing its stdout and forwarding
    /// its transcript; stops it when the hive revokes the turn or when the hive's tools are missing.
    /// </summary>
    public async Task<TurnOutcome> RunAsync(List<JsonObject> messages, TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript, bool compact)
    {
        var started = DateTimeOffset.UtcNow;
        var stream = new StreamJson();
        TurnStop? stopped = null;
        string? missing = null;
        int exit;
        var (commandLine, promptInArgv) = CommandLine(conversation, compact);
        try
        {
            var environment = new Dictionary<string, string>
            {
                ["HIVE_SOCKET"] = socketPath,
                ["HIVE_WAKE"] = compact ? "Compact the conversation: the instruction is on stdin." : Wake.Text(messages),
                ["HIVE_SESSION_ID"] = conversation.SessionId ?? "",
                ["HIVE_MODEL"] = conversation.Model ?? "",
                ["HIVE_COMPACT"] = compact ? "1" : "",
            };
            using var command = CommandProcess.Start(commandLine, environment);
            var process = command.Process;
            var toolsLost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var reading = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync() is { } line)
                {
                    Console.Out.WriteLine(line);
                    transcript.Add(stream.Read(line));
                    transcript.Session(stream.SessionId); // at once: a crash later in the turn still resumes it
                    if (ExpectsHiveServer && stream.HiveServerStatus is { } status && !stream.HiveServerConnected) toolsLost.TrySetResult(status);
                }
            });
            // Written while waiting for the exit: a COMMAND that exits without reading all of it ends the turn as it
            // exits, instead of leaving the harness blocked on a full pipe.
            var writing = !compact ? Wake.WriteAsync(process.StandardInput, messages)
                : Wake.WriteTextAsync(process.StandardInput, promptInArgv ? "" : CompactPrompt);
            var exited = process.WaitForExitAsync();
            var watching = slot?.WatchAsync(log) ?? new TaskCompletionSource<TurnStop?>().Task;
            var first = await Task.WhenAny(exited, watching, toolsLost.Task);
            if (first == toolsLost.Task && !process.HasExited)
            {
                // The init line comes before the model is asked: stopping now keeps the model from working without the
                // hive's tools (and from spending on it); what it did anyway is not acknowledged either way.
                missing = await toolsLost.Task;
                log.WriteLine($"hivectl run: the hive's MCP server was not connected ({missing}): SIGTERM to COMMAND's process group");
                await command.StopAsync(MissingToolsGrace);
            }
            else if (first == watching && await watching is { } stop && !process.HasExited)
            {
                log.WriteLine($"hivectl run: the hive stops turn {slot!.Id} ({stop.Reason}): SIGTERM to COMMAND's process group, " +
                              $"SIGKILL if anything of it is left within {stop.Grace.TotalMilliseconds:0} ms");
                await command.StopAsync(stop.Grace);
                stopped = stop;
            }
            await exited;
            await writing;
            await reading;
            exit = process.ExitCode;
            if (ExpectsHiveServer && !stream.HiveServerConnected && stopped is null)
                missing ??= stream.HiveServerStatus ?? "no init line from Claude Code";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            log.WriteLine($"hivectl run: {argv[0]} could not run: {e.Message}");
            exit = -1;
        }
        return new TurnOutcome(started, DateTimeOffset.UtcNow, exit, stream, stopped, HiveToolsMissing: missing);
    }
}
