using Hive.Host;
using Hive.Shared.Errors;

WebApplication app;
try
{
    app = HiveHost.Build(args);
}
catch (HiveStartupException refused)
{
    // One line that says why, and a non-zero exit: nothing has started yet.
    Console.Error.WriteLine($"hive: {refused.Message}");
    return 1;
}

try
{
    await app.RunAsync();
}
catch (HiveStartupException refused)
{
    // Refused while starting (an agent's socket path it cannot use): the same one line, after the hosted services stopped.
    Console.Error.WriteLine($"hive: {refused.Message}");
    return 1;
}
return 0;

/// <summary>Visible to tests (<c>WebApplicationFactory&lt;Program&gt;</c>).</summary>
public partial class Program;
