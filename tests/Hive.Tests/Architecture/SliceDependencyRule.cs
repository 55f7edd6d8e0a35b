using System.Reflection;

namespace Hive.Tests.Architecture;

/// <summary>
/// Rule 1, slice dependencies: each hive assembly references only the hive assemblies that DESIGN.md's graph puts
/// below it. A pure function of (assembly → the hive assemblies it references) and the allowed graph.
/// </summary>
internal static class SliceDependencyRule
{
    /// <summary>The <c>Hive.*</c> assemblies <paramref name="assembly"/>'s metadata references.</summary>
    public static IReadOnlyList<string> HiveReferencesOf(Assembly assembly) =>
        assembly.GetReferencedAssemblies()
            .Select(r => r.Name!)
            .Where(r => r.StartsWith("Hive.", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();

    public static IReadOnlyList<string> Violations(
        IReadOnlyDictionary<string, IReadOnlyList<string>> hiveReferences, IReadOnlyDictionary<string, string[]> allowed)
    {
        var violations = new List<string>();
        foreach (var (assembly, references) in hiveReferences)
        {
            if (!allowed.TryGetValue(assembly, out var mayUse))
            {
                violations.Add($"{assembly} is not in DESIGN.md's graph (add it there and to {nameof(FeatureGraph)})");
                continue;
            }
            violations.AddRange(references
                .Where(r => !mayUse.Contains(r))
                .Select(r => $"{assembly} references {r}, which the graph does not put below it"));
        }
        return violations;
    }
}
