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
    ];

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintUsage();
            return args.Length == 0 ? 2 : 0;
        }

        var mode = Modes.FirstOrDefault(m => string.Equals(m.Name, args[0], StringComparison.OrdinalIgnoreCase));
        if (mode is null)
        {
            Console.Error.WriteLine($"unknown mode '{args[0]}'");
            PrintUsage();
            return 2;
        }

        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args[1..]);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            PrintUsage();
            return 2;
        }
        return await mode.RunAsync(options);
    }

    private static void PrintUsage()
    {
        Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Hive.Bench -- <mode> [options]");
        Console.Error.WriteLine();
        Console.Error.WriteLine("modes:");
        foreach (var mode in Modes) Console.Error.WriteLine($"  {mode.Name,-10} {mode.Summary}");
        Console.Error.WriteLine();
        Console.Error.WriteLine("options:");
        Console.Error.WriteLine(BenchOptions.Help);
    }
}

/// <summary>One benchmark mode, chosen by the first argument.</summary>
public interface IBenchMode
{
    string Name { get; }
    string Summary { get; }
    Task<int> RunAsync(BenchOptions options);
}
