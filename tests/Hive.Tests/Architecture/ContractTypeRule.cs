namespace Hive.Tests.Architecture;

/// <summary>
/// Rule 3, which public types one feature uses of another: every type of another feature that a feature's metadata
/// references must be in the <see cref="ContractCatalog"/>, unless it is a listed, reasoned exception. References to
/// the kernel (Hive.Shared) are free; which assemblies may be referenced at all is <see cref="SliceDependencyRule"/>'s job.
/// </summary>
internal static class ContractTypeRule
{
    /// <summary>The types <paramref name="feature"/> uses of other features (those in <c>Hive.Features.*</c> assemblies).</summary>
    public static IReadOnlyList<TypeReferences.Use> CrossFeatureUses(string feature, IEnumerable<TypeReferences.Use> uses) =>
        uses.Where(u => HiveSources.IsFeature(u.Assembly) && u.Assembly != feature).ToList();

    public static IReadOnlyList<string> Violations(
        string feature,
        IEnumerable<TypeReferences.Use> uses,
        ContractCatalog contracts,
        IReadOnlyDictionary<(string Feature, string Type), string> exceptions) =>
        CrossFeatureUses(feature, uses)
            .Where(u => !contracts.Contains(u.FullName) && !exceptions.ContainsKey((feature, u.FullName)))
            .Select(u => $"{feature} uses {u.FullName} of {u.Assembly}: not a public request, notification, allowed interface, or a type in their public surface")
            .ToList();
}
