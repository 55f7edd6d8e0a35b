using Carter;
using Hive.Host;

namespace Hive.Tests.Architecture;

/// <summary>
/// The host composes the features the source tree has, and their routes are reachable. The graph's three rules have
/// their own tests: <see cref="SliceDependencyTests"/>, <see cref="TableOwnershipTests"/>, <see cref="ContractTypeTests"/>.
/// </summary>
public sealed class FeatureGraphTests
{
    [Fact]
    public void Every_feature_project_in_the_source_tree_is_composed_by_the_host()
    {
        var onDisk = Directory.GetFiles(Path.Combine(RepoRoot(), "src", "Features"), "*.csproj", SearchOption.AllDirectories)
            .Select(Path.GetFileNameWithoutExtension)
            .Order();
        Assert.Equal(onDisk, HiveSources.Assemblies.Select(HiveSources.NameOf).Where(HiveSources.IsFeature).Order());
    }

    [Fact]
    public void Carter_modules_are_public_and_live_in_hive_assemblies()
    {
        var modules = HiveSources.Assemblies.SelectMany(a => a.GetTypes()).Where(t => typeof(CarterModule).IsAssignableFrom(t)).ToList();
        Assert.NotEmpty(modules);
        Assert.All(modules, m => Assert.True(m.IsPublic, $"{m} must be public or Carter will not find it"));
        var hostModules = typeof(HiveHost).Assembly.GetTypes().Where(t => typeof(CarterModule).IsAssignableFrom(t));
        Assert.Empty(hostModules); // the Host is the composition root only
    }

    /// <summary>The repository's root (where Hive.sln is); other tests find files through this.</summary>
    internal static string RepoRoot() => HiveSources.RepoRoot();
}
