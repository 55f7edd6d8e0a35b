namespace Hive.Tests.Infrastructure;

/// <summary>A test that needs <see cref="TestNetwork"/> (a root host with ip and unshare): skipped, saying why, when there is none.</summary>
public sealed class TestNetworkFactAttribute : FactAttribute
{
    public TestNetworkFactAttribute()
    {
        if (TestNetwork.Unavailable is { } reason) Skip = reason;
    }
}
