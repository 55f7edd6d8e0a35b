using Hive.Features.Containers.Runtime;
using Hive.Shared;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hive.Testing;

/// <summary>
/// What a killed host leaves outside its data dir: its agents' cgroups (kernel objects under <c>/sys/fs/cgroup</c>, which
/// outlive the test's data dir). The next host on the data dir would sweep them at its start; a test's data dir has no
/// next host, so the test does that sweep itself once its host is gone.
/// </summary>
public static class HostLeftovers
{
    /// <summary>The start-up's own sweep of the hive's cgroups, only while no host holds <paramref name="dataDir"/>.</summary>
    public static async Task SweepAsync(string dataDir)
    {
        if (!File.Exists(Path.Combine(dataDir, DataDirLock.FileName))) return;
        DataDirLock held;
        try
        {
            held = DataDirLock.Acquire(new HivePaths(dataDir));
        }
        catch (HiveStartupException)
        {
            return; // another host runs on it now: its cgroups are its own
        }
        using (held)
        using (var cgroups = new AgentCgroups(dataDir, "/sys/fs/cgroup", NullLogger<AgentCgroups>.Instance))
            await cgroups.SweepLeftoversAsync();
    }
}
