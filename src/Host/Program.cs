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
catch (Exception invalid) when (ConfigurationProblem.Describe(invalid) is { } problem)
{
    // A configured value that cannot be read or is out of range: one line naming its key.
    Console.Error.WriteLine($"hive: {problem}");
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
catch (Exception invalid) when (ConfigurationProblem.Describe(invalid) is { } problem)
{
    // Read late (by a service as it started): the same one line.
    Console.Error.WriteLine($"hive: {problem}");
    return 1;
}
catch (IOException bind) when (bind.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
{
    // Kestrel's "Failed to bind to address http://...: address already in use." already names the address.
    Console.Error.WriteLine($"hive: {bind.Message.TrimEnd('.')}: another process is listening there; choose another with --urls");
    return 1;
}
return 0;

/// <summary>Visible to tests (<c>WebApplicationFactory&lt;Program&gt;</c>).</summary>
public partial class Program;
