namespace Hive.Tests.Architecture;

public sealed class SliceDependencyTests
{
    [Fact]
    public void Each_hive_assembly_references_only_what_the_graph_puts_below_it()
    {
        var references = HiveSources.Assemblies.ToDictionary(HiveSources.NameOf, SliceDependencyRule.HiveReferencesOf);

        var violations = SliceDependencyRule.Violations(references, FeatureGraph.Allowed);

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Reports_a_reference_upward_and_an_assembly_missing_from_the_graph()
    {
        // The test assembly's real references (the host and every feature), claimed as StateFiles, the lowest feature.
        var testAssemblyAsStateFiles = SliceDependencyRule.HiveReferencesOf(typeof(SliceDependencyTests).Assembly);
        Assert.Contains("Hive.Features.Messages", testAssemblyAsStateFiles);
        var references = new Dictionary<string, IReadOnlyList<string>>
        {
            ["Hive.Features.StateFiles"] = testAssemblyAsStateFiles,
            ["Hive.Features.TurnStats"] = ["Hive.Shared"], // allowed: stays quiet
            ["Hive.Features.Unlisted"] = ["Hive.Shared"],
        };

        var violations = SliceDependencyRule.Violations(references, FeatureGraph.Allowed);

        Assert.Contains("Hive.Features.StateFiles references Hive.Features.Messages, which the graph does not put below it", violations);
        Assert.Contains("Hive.Features.StateFiles references Hive.Host, which the graph does not put below it", violations);
        Assert.Contains(violations, v => v.StartsWith("Hive.Features.Unlisted is not in DESIGN.md's graph", StringComparison.Ordinal));
        Assert.DoesNotContain(violations, v => v.Contains("Hive.Shared,", StringComparison.Ordinal) || v.StartsWith("Hive.Features.TurnStats", StringComparison.Ordinal));
    }
}
