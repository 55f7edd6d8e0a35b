using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Infrastructure;

/// <summary>
/// One real hive (<see cref="HiveInstance"/>) shared by the tests of a class (<c>IClassFixture</c>) or of a
/// collection (<c>ICollectionFixture</c>), instead of one per test. xUnit runs the tests of a class, and the classes of
/// a collection, one at a time, so a shared hive is never used by two tests at once; still, no test may depend on what
/// another left behind: each makes its own agents (<see cref="HiveInstance.NewAgentAsync"/>; only <c>manager</c> is
/// there from the start unless a subclass configures more) and asserts on the ids, bodies and rows it created and on
/// the events about them. A test that needs a fresh or restarted hive (restarts, crashes, other configuration, fault
/// injection) starts one of its own and says why.
/// </summary>
public class HiveFixture : IAsyncLifetime
{
    public HiveInstance Hive { get; private set; } = null!;

    /// <summary>Agents configured at start-up (<c>Hive:Agents</c>), for tests about configured agents or fixed paths.</summary>
    protected virtual string[] Agents => [];

    /// <summary>More configuration arguments.</summary>
    protected virtual string[] Args => [];

    /// <summary>Probes registered after the hive's own services, shared by every test of the fixture.</summary>
    protected virtual void ConfigureServices(IServiceCollection services) { }

    public virtual async Task InitializeAsync() => Hive = await HiveInstance.StartAsync(Agents, Args, ConfigureServices);

    /// <summary>
    /// Stops the hive and checks the token against the whole log once more, its shutdown included. (xUnit 2 only prints
    /// a failure here as a "cleanup failure" without failing the run; that is why every test checks the log at its own
    /// end too, in <see cref="SharedHiveTests.Dispose"/>.)
    /// </summary>
    public virtual async Task DisposeAsync()
    {
        if (Hive is not null) await Hive.DisposeAsync();
    }
}

/// <summary>
/// A test class on a shared hive. After each test it checks that the operator token is in no line the hive has logged
/// so far (what every test's own host checked when it was disposed, when each test had one): a failure here fails the
/// test that just ran.
/// </summary>
public abstract class SharedHiveTests(HiveFixture fixture) : IDisposable
{
    public void Dispose()
    {
        fixture.Hive.AssertTokenInNoLogLine();
        GC.SuppressFinalize(this);
    }
}
