using System.CommandLine;
using Hive.Bench.Modes;

namespace Hive.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/Hive.Bench -- &lt;mode&gt; [options]</c>. One class per mode; add a mode by
/// implementing <see cref="IBenchMode"/> and listing it in <see cref="Modes"/>.
/// </summary>
public static class BenchProgram
{
    private static readonly IBenchMode[] Modes =
    [
        new BrokerBench(),
        new ScanBench(),
        new RemindersBench(),
        new CrashSoakBench(),
        new ReplayBench(),
        new BacklogBench(),
        new RetentionBench(),
        new WakeBench(),
        new ContainersBench(),
        new LockoutBench(),
        new GovernanceBench(),
        new WatchdogBench(),
        new UsageBench(),
        new NotifyBench(),
        new SearchBench(),
        new TranscriptBench(),
        new WorkBench(),
        new ConstellationBench(),
        new SwarmBench(),
        new WebhookMemoryBench(),
        new ClaudeTurnsBench(),
        new GatewayBench(),
        new EgressBench(),
        new TurnReplayBench(),
        new RadarBench(),
        new QueueBench(),
        new AcpBench(),
        new HivectlBench(),
    ];

    public static async Task<int> Main(string[] args)
    {
        // Not a mode: the gateway bench's floor in a process of its own (GatewayBench starts it).
        if (args is [GatewayBench.FloorVerb, var socket, var upstream]) return await GatewayBench.ServeFloorAsync(socket, upstream);
        var root = new RootCommand("Hive's benchmarks: dotnet run -c Release --project bench/Hive.Bench -- <mode> [options]");
        foreach (var option in BenchOptions.All) root.Options.Add(option);
        foreach (var mode in Modes)
        {
            var command = new Command(mode.Name, mode.Summary);
            command.SetAction(parse => mode.RunAsync(BenchOptions.From(parse)));
            root.Subcommands.Add(command);
        }
        var help = new Command("help", "list the modes and options");
        help.SetAction(_ => PrintUsage(root, Console.Out));
        root.Subcommands.Add(help);

        if (args.Length == 0)
        {
            PrintUsage(root, Console.Error);
            return 2;
        }
        // Mode names are matched case-insensitively.
        if (Modes.FirstOrDefault(m => string.Equals(m.Name, args[0], StringComparison.OrdinalIgnoreCase)) is { } named)
            args = [named.Name, .. args[1..]];

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) Console.Error.WriteLine(error.Message);
            PrintUsage(root, Console.Error);
            return 2;
        }
        return await parsed.InvokeAsync();
    }

    /// <summary>The generated help of the root command: the modes (its commands) and the options.</summary>
    private static int PrintUsage(RootCommand root, TextWriter writer) =>
        root.Parse("--help").Invoke(new InvocationConfiguration { Output = writer });
}

/// <summary>One benchmark mode, chosen by the first argument.</summary>
public interface IBenchMode
{
    string Name { get; }
    string Summary { get; }
    Task<int> RunAsync(BenchOptions options);
}
