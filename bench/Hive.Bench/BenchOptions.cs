using System.Globalization;

namespace Hive.Bench;

/// <summary>The options every mode understands (a mode ignores those that do not apply to it).</summary>
public sealed record BenchOptions
{
    public const string Help = """
          --sync NORMAL|FULL   SQLite synchronous level for the raw baseline AND the host (default NORMAL)
          --count N            latency samples per latency case (default 3000; warm-up adds N/10; the N-subscriber case uses N/2;
                               backlog: sends alone and under the cold loads)
          --seconds S          duration of each throughput case in each round (default 2)
          --rounds R           alternating raw/hive throughput rounds; medians are reported (default 3)
          --subscribers N      SSE subscribers of the fan-out case (default 100)
          --keep               keep the temp data dir (its path is printed)
          --throughput-only    broker: only the (a)/(b)/(e16) throughput rounds, no latency cases (quicker A/B loops)
          --reps N             scan: timed scans per body (default 200, after a warm-up of N/10)
          --reminders M        reminders: due at once (default 10000); crash-soak: scheduled over all lives (default 1000)
          --kills N            crash-soak: SIGKILLs, one per life of the host (default 20)
          --seed S             crash-soak: seed of the random kill moments (default 20261121)
          --agents N           containers: sample agents of the fleet case under the process driver (default 200)
          --creates N          containers: sequential creates per driver (default 40)
          --answers N          containers: operator message -> answer samples per driver (default 200)
          --crashes N          containers: SIGKILL -> crashed-event samples per driver (default 100)
          --burst              crash-soak: each life's reminders fall due at one instant and the kill lands while that
                               burst is delivered (more kills inside a delivery than the spread window of the crash test)
        """;

    public string Synchronous { get; init; } = "NORMAL";
    public int Count { get; init; } = 3000;
    public double Seconds { get; init; } = 2;
    public int Rounds { get; init; } = 3;
    public int Subscribers { get; init; } = 100;
    public bool Keep { get; init; }
    public bool ThroughputOnly { get; init; }
    public int Reps { get; init; } = 200;
    /// <summary>Null: the mode's own default.</summary>
    public int? Reminders { get; init; }
    public int Kills { get; init; } = 20;
    public int Seed { get; init; } = 20261121;
    public bool Burst { get; init; }
    public int Agents { get; init; } = 200;
    public int Creates { get; init; } = 40;
    public int Answers { get; init; } = 200;
    public int Crashes { get; init; } = 100;

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            options = name switch
            {
                "--sync" => options with { Synchronous = Sync(Value()) },
                "--count" => options with { Count = Positive(name, Value()) },
                "--seconds" => options with { Seconds = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--rounds" => options with { Rounds = Positive(name, Value()) },
                "--subscribers" => options with { Subscribers = Positive(name, Value()) },
                "--keep" => options with { Keep = true },
                "--throughput-only" => options with { ThroughputOnly = true },
                "--reps" => options with { Reps = Positive(name, Value()) },
                "--reminders" => options with { Reminders = Positive(name, Value()) },
                "--kills" => options with { Kills = Positive(name, Value()) },
                "--seed" => options with { Seed = Positive(name, Value()) },
                "--burst" => options with { Burst = true },
                "--agents" => options with { Agents = Positive(name, Value()) },
                "--creates" => options with { Creates = Positive(name, Value()) },
                "--answers" => options with { Answers = Positive(name, Value()) },
                "--crashes" => options with { Crashes = Positive(name, Value()) },
                _ => throw new ArgumentException($"unknown option '{name}'"),
            };
        }
        if (options.Seconds <= 0) throw new ArgumentException("--seconds must be positive");
        return options;
    }

    private static string Sync(string value) => value.ToUpperInvariant() switch
    {
        "NORMAL" => "NORMAL",
        "FULL" => "FULL",
        _ => throw new ArgumentException($"--sync must be NORMAL or FULL, not '{value}'"),
    };

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} must be a positive integer, not '{value}'");
}
