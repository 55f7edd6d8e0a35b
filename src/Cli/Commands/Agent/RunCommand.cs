using System.CommandLine;
using System.Text.RegularExpressions;
using Hive.Cli.Commands.Agent.Run;

namespace Hive.Cli.Commands.Agent;

/// <summary>
/// <c>hivectl run [--max N] -- COMMAND [ARGS...]</c>, the harness: it parks on <c>recv</c>; on each wake it takes what is
/// waiting (up to N), asks the hive for a turn (<c>begin_turn</c>; while held, the messages stay in hand, unacknowledged)
/// and runs COMMAND once with those messages (one JSON line each on stdin, then stdin closed; a paragraph in
/// <c>$HIVE_WAKE</c>) in a process group of its own, which it stops when the hive revokes the turn (halt, pause, the
/// longest turn). It acknowledges them only when COMMAND exits 0 (a crash mid-turn leaves them in flight, so they come back
/// flagged redelivered: at least once, end to end), reports a usage limit Claude Code names (<c>quota_hit</c>), and
/// records the turn (<c>record_turn</c>, which ends it): model, tokens, tool calls and cost when COMMAND prints Claude
/// Code's stream-json, else timing and the exit status. SIGTERM or Ctrl-C lets the current turn finish, then it exits 0.
/// What COMMAND prints goes to the hive live (<c>transcript</c>); the session it names is kept on the hive and
/// resumed by the next turn (<c>--claude</c>: <c>--resume</c>, <c>--model</c>; else <c>$HIVE_SESSION_ID</c>, <c>$HIVE_MODEL</c>),
/// with a compaction first when asked (<c>/compact</c>, <c>--compact-at</c>) and once on "prompt is too long".
/// With <c>--acp</c>, COMMAND is an agent speaking the Agent Client Protocol, kept between wakes: each wake is a prompt in
/// its session (<c>Run/Acp/</c>). With <c>--pty</c>, COMMAND is a terminal program kept between wakes: each message is
/// typed into it and its turn ends when its idle prompt is back (<c>Run/Pty/</c>). The parts are in <c>Run/</c>.
/// </summary>
public static class RunCommand
{
    public static void AddTo(RootCommand root)
    {
        var max = new Option<int>("--max") { Description = "messages per turn, 1 to 32", DefaultValueFactory = _ => 32 };
        var claude = new Option<bool>("--claude")
        {
            Description = "COMMAND is Claude Code: append --resume SESSION and --model NAME to it (else they are in $HIVE_SESSION_ID and $HIVE_MODEL)",
        };
        var compactAt = new Option<long>("--compact-at")
        {
            Description = "tokens of context above which the next turn compacts the conversation first (0: never)", DefaultValueFactory = _ => 150_000,
        };
        var acp = new Option<bool>("--acp")
        {
            Description = "COMMAND is an agent speaking the Agent Client Protocol on its stdio: started once and kept, each wake a prompt in its session",
        };
        var initTimeout = new Option<int>("--init-timeout")
        {
            Description = "with --acp: seconds the agent has to answer initialize; with --pty: seconds the program has to show its idle prompt", DefaultValueFactory = _ => 60,
        };
        var pty = new Option<bool>("--pty")
        {
            Description = "COMMAND is a terminal program: started once on a pseudo-terminal and kept, each message typed into it, a turn ending when its idle prompt is back",
        };
        var idlePattern = new Option<string>("--idle-pattern")
        {
            Description = $"with --pty: a regular expression matched on the cursor's line up to the cursor, meaning the program waits for input (default {Run.Pty.PtyOptions.DefaultIdlePrompt})",
        };
        var turnTimeout = new Option<int>("--turn-timeout")
        {
            Description = "with --pty: seconds a turn's messages have to be answered, the idle prompt back, before the turn fails and the program is stopped", DefaultValueFactory = _ => 1800,
        };
        var argv = new Argument<string[]>("command") { Description = "the agent's command and its arguments, after --", Arity = ArgumentArity.OneOrMore };
        var systemPrompt = new Option<string?>("--system-prompt")
        {
            Description = "with --acp: text to add to the agent's system prompt (the session's _meta.systemPrompt.append, which Claude's adapter reads)",
        };
        var command = new Command("run", "run COMMAND once per wake with the messages waiting, in a turn the hive grants, acknowledging them when it succeeds")
            { max, claude, compactAt, acp, initTimeout, systemPrompt, pty, idlePattern, turnTimeout, argv };
        command.SetAction(async (parse, ct) =>
        {
            var context = new CliContext(parse, Console.Out, Console.Error);
            string socket;
            Run.Pty.PtyOptions? ptyOptions;
            try
            {
                socket = context.SocketPath;
                if (parse.GetValue(max) is < 1 or > 32) throw new UsageError("--max must be 1 to 32");
                if (parse.GetValue(compactAt) < 0) throw new UsageError("--compact-at must be 0 or more");
                if (parse.GetValue(acp) && parse.GetValue(claude)) throw new UsageError("--acp and --claude are two ways to run COMMAND: give one");
                if (parse.GetValue(initTimeout) is < 1 or > 3600) throw new UsageError("--init-timeout must be 1 to 3600 seconds");
                if (parse.GetValue(systemPrompt) is { } prompt && (!parse.GetValue(acp) || prompt.Length > 65_536))
                    throw new UsageError("--system-prompt goes with --acp, and is at most 65536 characters");
                ptyOptions = PtyOptionsOf(parse, pty, idlePattern, turnTimeout, initTimeout, parse.GetValue(acp) || parse.GetValue(claude));
            }
            catch (UsageError e)
            {
                Console.Error.WriteLine($"hivectl: usage: {e.Message}");
                return CommandRunner.Usage;
            }
            var options = new HarnessOptions(parse.GetValue(claude), parse.GetValue(compactAt));
            var agentArgv = parse.GetValue(argv)!;
            Func<TextWriter, ITurnRunner> runner = ptyOptions is not null ? log => new Run.Pty.PtyTurns(socket, agentArgv, ptyOptions, log)
                : parse.GetValue(acp) ? log => new Run.Acp.AcpTurns(socket, agentArgv, TimeSpan.FromSeconds(parse.GetValue(initTimeout)), log, parse.GetValue(systemPrompt))
                : log => new CommandTurns(socket, agentArgv, options, log);
            return await new Harness(socket, parse.GetValue(max), runner).RunAsync(ct);
        });
        root.Subcommands.Add(command);
    }

    /// <summary><c>--pty</c>'s options checked (null without <c>--pty</c>, whose own options are then refused).</summary>
    private static Run.Pty.PtyOptions? PtyOptionsOf(ParseResult parse, Option<bool> pty, Option<string> idlePattern, Option<int> turnTimeout,
        Option<int> initTimeout, bool otherWay)
    {
        if (!parse.GetValue(pty))
        {
            if (parse.GetResult(idlePattern) is { Implicit: false } || parse.GetResult(turnTimeout) is { Implicit: false })
                throw new UsageError("--idle-pattern and --turn-timeout are for --pty");
            return null;
        }
        if (otherWay) throw new UsageError("--pty, --acp and --claude are ways to run COMMAND: give one");
        if (parse.GetValue(turnTimeout) is < 1 or > 86_400) throw new UsageError("--turn-timeout must be 1 to 86400 seconds");
        Regex idle;
        try
        {
            idle = new Regex(parse.GetValue(idlePattern) ?? Run.Pty.PtyOptions.DefaultIdlePrompt, RegexOptions.None, TimeSpan.FromMilliseconds(100));
        }
        catch (ArgumentException e)
        {
            throw new UsageError($"--idle-pattern is not a regular expression: {e.Message}");
        }
        return new Run.Pty.PtyOptions(idle, TimeSpan.FromSeconds(parse.GetValue(initTimeout)), TimeSpan.FromSeconds(parse.GetValue(turnTimeout)));
    }
}
