using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Hive.Bench;

/// <summary>
/// The options every mode understands (a mode ignores those that do not apply to it): each is a recursive option of the
/// root command, so it goes after the mode's name (<c>bench -- broker --sync FULL</c>).
/// </summary>
public sealed record BenchOptions
{
    public string Synchronous { get; init; } = "NORMAL";
    public int Count { get; init; } = 3000;
    public double Seconds { get; init; } = 2;
    public int Rounds { get; init; } = 3;
    public int Subscribers { get; init; } = 100;
    public bool Keep { get; init; }
    public bool ThroughputOnly { get; init; }
    public bool FleetOnly { get; init; }
    public bool JitAgent { get; init; }
    public int Reps { get; init; } = 200;
    /// <summary>Null: the mode's own default.</summary>
    public int? Reminders { get; init; }
    /// <summary>Null: the mode's own default.</summary>
    public int? Kills { get; init; }
    public int Seed { get; init; } = 20261121;
    public bool Burst { get; init; }
    /// <summary>Null: the mode's own default.</summary>
    public int? Agents { get; init; }
    /// <summary>Null: the mode's own default.</summary>
    public double? Minutes { get; init; }
    /// <summary>Null: the mode's own default.</summary>
    public double? Idle { get; init; }
    public int Creates { get; init; } = 40;
    public int Answers { get; init; } = 200;
    public int Crashes { get; init; } = 100;
    public int Questions { get; init; } = 200;
    /// <summary>Null: the mode's own default.</summary>
    public int? Messages { get; init; }
    public int Senders { get; init; } = 16;
    public int Turns { get; init; } = 20;
    public int Load { get; init; } = 4;

    private static readonly BenchOptions Defaults = new();

    private static readonly Option<string> SyncOption = new("--sync")
    {
        Description = "SQLite synchronous level for the raw baseline AND the host",
        HelpName = "NORMAL|FULL",
        Recursive = true,
        DefaultValueFactory = _ => Defaults.Synchronous,
        CustomParser = Sync,
    };

    private static readonly Option<int> CountOption = Positive("--count",
        "latency samples per latency case (warm-up adds N/10; the N-subscriber case uses N/2; backlog: sends alone and under the cold loads)",
        Defaults.Count);

    private static readonly Option<double> SecondsOption = new("--seconds")
    {
        Description = "duration of each throughput case in each round; usage: the window per hive (default 60)",
        HelpName = "S",
        Recursive = true,
        DefaultValueFactory = _ => Defaults.Seconds,
        CustomParser = PositiveSeconds,
    };

    private static readonly Option<int> RoundsOption = Positive("--rounds", "alternating raw/hive throughput rounds; medians are reported", Defaults.Rounds);
    private static readonly Option<int> SubscribersOption = Positive("--subscribers", "SSE subscribers of the fan-out case", Defaults.Subscribers);
    private static readonly Option<bool> KeepOption = Flag("--keep", "keep the temp data dir (its path is printed)");
    private static readonly Option<bool> ThroughputOnlyOption = Flag("--throughput-only",
        "broker: only the (a)/(b)/(e16) throughput rounds, no latency cases (quicker A/B loops)");
    private static readonly Option<bool> FleetOnlyOption = Flag("--fleet-only",
        "containers: only the fleet case (its own host), no per-driver latencies, crashes or approvals (quicker A/B loops)");
    private static readonly Option<bool> JitAgentOption = Flag("--jit-agent",
        "containers: run the sample agent's EchoAgent.dll under the JIT (dotnet EchoAgent.dll, as the tests do) instead of its " +
        "ahead-of-time build (published by the bench, ~2 ms of CPU to start against ~45 ms)");
    private static readonly Option<int> RepsOption = Positive("--reps",
        "scan: timed scans per body, after a warm-up of N/10; lockout: operator requests per line; gateway: 1 MiB streams; work: WIP cycles; acp: wakes",
        Defaults.Reps);
    private static readonly Option<int?> RemindersOption = new("--reminders")
    {
        Description = "reminders: due at once (default 10000); crash-soak: scheduled over all lives (default 1000)",
        HelpName = "M",
        Recursive = true,
        CustomParser = result => PositiveValue(result),
    };
    private static readonly Option<int?> KillsOption = new("--kills")
    {
        Description = "crash-soak: SIGKILLs, one per life of the host (default 20); swarm: SIGKILLs of the host at random moments (default 0)",
        HelpName = "N",
        Recursive = true,
        CustomParser = result => PositiveValue(result),
    };
    private static readonly Option<int> SeedOption = Positive("--seed", "crash-soak, swarm: seed of the random kill moments (swarm: and of the agents' choices)", Defaults.Seed, "S");
    private static readonly Option<int?> AgentsOption = new("--agents")
    {
        Description = "containers: sample agents of the fleet case under the process driver (default 200); swarm: agents (default 50); " +
            "governance: harness agents of the swarm and the halt (default 50)",
        HelpName = "N",
        Recursive = true,
        CustomParser = result => PositiveValue(result),
    };
    private static readonly Option<double?> MinutesOption = new("--minutes")
    {
        Description = "swarm: minutes of traffic before the drain (default 10)",
        HelpName = "M",
        Recursive = true,
        CustomParser = result => PositiveNumber(result),
    };
    private static readonly Option<double?> IdleOption = new("--idle")
    {
        Description = "webhook-memory: seconds idle before the last memory report (default 10)",
        HelpName = "S",
        Recursive = true,
        CustomParser = result => PositiveNumber(result),
    };
    private static readonly Option<int> CreatesOption = Positive("--creates", "containers: sequential creates per driver", Defaults.Creates);
    private static readonly Option<int> AnswersOption = Positive("--answers", "containers: operator message -> answer samples per driver", Defaults.Answers);
    private static readonly Option<int> CrashesOption = Positive("--crashes", "containers: SIGKILL -> crashed-event samples per driver", Defaults.Crashes);
    private static readonly Option<int> QuestionsOption = Positive("--questions",
        "notify: questions asked one after another per channel, each waiting for its push", Defaults.Questions);
    private static readonly Option<int?> MessagesOption = new("--messages")
    {
        Description = "constellation: latency samples per path (default 300); each throughput sender sends N, the SIGKILL stream 3N; " +
            "wake: wakes (default 200); transcript: entries (default 500); search: messages of the fill (default 100 000)",
        HelpName = "N",
        Recursive = true,
        CustomParser = result => PositiveValue(result),
    };
    private static readonly Option<int> SendersOption = Positive("--senders",
        "constellation: concurrent senders of the throughput case, spread over hives a and c, each to its own agent on b", Defaults.Senders);
    private static readonly Option<int> TurnsOption = Positive("--turns",
        "claude-turns: wakes of the Claude Code agent, one after another (each waits for its turn to be recorded)", Defaults.Turns);
    private static readonly Option<int> LoadOption = new("--load")
    {
        Description = "claude-turns: CPU-burning child processes beside the agent (0: none)",
        HelpName = "N",
        Recursive = true,
        DefaultValueFactory = _ => Defaults.Load,
        CustomParser = NonNegativeValue,
    };
    private static readonly Option<bool> BurstOption = Flag("--burst",
        "crash-soak: each life's reminders fall due at one instant and the kill lands while that burst is delivered " +
        "(more kills inside a delivery than the spread window of the crash test)");

    /// <summary>Every option, in the order the help lists them.</summary>
    public static IReadOnlyList<Option> All { get; } =
    [
        SyncOption, CountOption, SecondsOption, RoundsOption, SubscribersOption, KeepOption, ThroughputOnlyOption, FleetOnlyOption, JitAgentOption, RepsOption,
        RemindersOption, KillsOption, SeedOption, AgentsOption, MinutesOption, IdleOption, CreatesOption, AnswersOption, CrashesOption, BurstOption, QuestionsOption,
        MessagesOption, SendersOption, TurnsOption, LoadOption,
    ];

    /// <summary>The options of a parsed command line (the defaults for those not given).</summary>
    public static BenchOptions From(ParseResult parse) => new()
    {
        Synchronous = parse.GetValue(SyncOption)!,
        Count = parse.GetValue(CountOption),
        Seconds = parse.GetValue(SecondsOption),
        Rounds = parse.GetValue(RoundsOption),
        Subscribers = parse.GetValue(SubscribersOption),
        Keep = parse.GetValue(KeepOption),
        ThroughputOnly = parse.GetValue(ThroughputOnlyOption),
        FleetOnly = parse.GetValue(FleetOnlyOption),
        JitAgent = parse.GetValue(JitAgentOption),
        Reps = parse.GetValue(RepsOption),
        Reminders = parse.GetValue(RemindersOption),
        Kills = parse.GetValue(KillsOption),
        Seed = parse.GetValue(SeedOption),
        Burst = parse.GetValue(BurstOption),
        Agents = parse.GetValue(AgentsOption),
        Minutes = parse.GetValue(MinutesOption),
        Idle = parse.GetValue(IdleOption),
        Creates = parse.GetValue(CreatesOption),
        Answers = parse.GetValue(AnswersOption),
        Crashes = parse.GetValue(CrashesOption),
        Questions = parse.GetValue(QuestionsOption),
        Messages = parse.GetValue(MessagesOption),
        Senders = parse.GetValue(SendersOption),
        Turns = parse.GetValue(TurnsOption),
        Load = parse.GetValue(LoadOption),
    };

    private static Option<int> Positive(string name, string description, int defaultValue, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        Recursive = true,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => PositiveValue(result) ?? 0,
    };

    private static Option<bool> Flag(string name, string description) => new(name) { Description = description, Recursive = true };

    private static string Sync(ArgumentResult result)
    {
        var value = result.Tokens.Single().Value;
        switch (value.ToUpperInvariant())
        {
            case "NORMAL": return "NORMAL";
            case "FULL": return "FULL";
            default:
                result.AddError($"--sync must be NORMAL or FULL, not '{value}'");
                return "";
        }
    }

    private static double PositiveSeconds(ArgumentResult result)
    {
        var value = result.Tokens.Single().Value;
        if (!double.TryParse(value, CultureInfo.InvariantCulture, out var seconds)) result.AddError($"--seconds must be a number, not '{value}'");
        else if (seconds <= 0) result.AddError("--seconds must be positive");
        return seconds;
    }

    private static double? PositiveNumber(ArgumentResult result)
    {
        var value = result.Tokens.Single().Value;
        if (double.TryParse(value, CultureInfo.InvariantCulture, out var number) && number > 0) return number;
        result.AddError($"{((OptionResult)result.Parent!).Option.Name} must be a positive number, not '{value}'");
        return null;
    }

    private static int NonNegativeValue(ArgumentResult result)
    {
        var value = result.Tokens.Single().Value;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return n;
        result.AddError($"{((OptionResult)result.Parent!).Option.Name} must be a non-negative integer, not '{value}'");
        return 0;
    }

    private static int? PositiveValue(ArgumentResult result)
    {
        var value = result.Tokens.Single().Value;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) return n;
        result.AddError($"{((OptionResult)result.Parent!).Option.Name} must be a positive integer, not '{value}'");
        return null;
    }
}
