using System.Diagnostics;
using Hive.Tests.Architecture;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The dashboard's browser modules (src/Host/wwwroot/js) type-check under src/Host/jsconfig.json, which checks every
/// module (their <c>// @ts-check</c> lines are for an editor that opens one alone): a renamed export, a wrong argument
/// count or an element used as the wrong kind fails here, before a browser test has to find it.
/// </summary>
public sealed class DashboardTypeCheckTests
{
    [TypeScriptFact]
    public async Task The_dashboard_modules_type_check()
    {
        var start = new ProcessStartInfo(TypeScriptFactAttribute.Path)
        {
            WorkingDirectory = FeatureGraphTests.RepoRoot(),
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var argument in new[] { "--noEmit", "--pretty", "false", "-p", "src/Host/jsconfig.json" }) start.ArgumentList.Add(argument);
        using var tsc = Process.Start(start)!;
        var stdout = tsc.StandardOutput.ReadToEndAsync();
        var stderr = tsc.StandardError.ReadToEndAsync();
        await tsc.WaitForExitAsync();
        Assert.True(tsc.ExitCode == 0, $"tsc --noEmit -p src/Host/jsconfig.json exited {tsc.ExitCode}:\n{await stdout}{await stderr}");
    }
}
