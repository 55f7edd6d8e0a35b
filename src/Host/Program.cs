using Hive.Host;
using Hive.Host.Auth;

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
await app.RunAsync();
return 0;

/// <summary>Visible to tests (<c>WebApplicationFactory&lt;Program&gt;</c>).</summary>
public partial class Program;
