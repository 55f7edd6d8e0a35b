using System.Reflection;
using Carter;
using Hive.Host;

namespace Hive.Tests.Architecture;

/// <summary>DESIGN.md's dependency graph, as a compile-time fact checked by reflection.</summary>
public sealed class FeatureGraphTests
{
    // Each feature and the hive assemblies it may reference (besides itself). Shared references no feature.
    // Shared <- StateFiles <- Messages <- Reminders, Questions <- Containers <- Forge;  TurnStats -> Shared only.
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Hive.Shared"] = [],
        ["Hive.Features.StateFiles"] = ["Hive.Shared"],
        ["Hive.Features.Messages"] = ["Hive.Shared", "Hive.Features.StateFiles"],
        ["Hive.Features.Reminders"] = ["Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages"],
        ["Hive.Features.Questions"] = ["Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages"],
        ["Hive.Features.Containers"] = ["Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions"],
        ["Hive.Features.Forge"] = ["Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions", "Hive.Features.Containers"],
        ["Hive.Features.TurnStats"] = ["Hive.Shared"],
    };

    public static TheoryData<string> HiveAssemblies => new(HiveFeatures.Assemblies.Select(a => a.GetName().Name!));

    [Theory]
    [MemberData(nameof(HiveAssemblies))]
    public void Each_assembly_references_only_what_the_graph_allows(string name)
    {
        Assert.True(Allowed.ContainsKey(name), $"{name} is not in DESIGN.md's graph; add it there and here");
        var assembly = HiveFeatures.Assemblies.Single(a => a.GetName().Name == name);
        var hiveReferences = assembly.GetReferencedAssemblies()
            .Select(r => r.Name!)
            .Where(r => r.StartsWith("Hive.", StringComparison.Ordinal))
            .ToList();
        Assert.All(hiveReferences, r => Assert.Contains(r, Allowed[name]));
    }

    [Fact]
    public void Every_feature_project_in_the_source_tree_is_composed_by_the_host()
    {
        var root = RepoRoot();
        var onDisk = Directory.GetFiles(Path.Combine(root, "src", "Features"), "*.csproj", SearchOption.AllDirectories)
            .Select(Path.GetFileNameWithoutExtension)
            .Order();
        Assert.Equal(onDisk, HiveFeatures.Assemblies.Select(a => a.GetName().Name).Where(n => n!.StartsWith("Hive.Features.")).Order());
    }

    [Fact]
    public void Carter_modules_are_public_and_live_in_hive_assemblies()
    {
        var modules = HiveFeatures.Assemblies.SelectMany(a => a.GetTypes()).Where(t => typeof(CarterModule).IsAssignableFrom(t)).ToList();
        Assert.NotEmpty(modules);
        Assert.All(modules, m => Assert.True(m.IsPublic, $"{m} must be public or Carter will not find it"));
        var hostModules = typeof(HiveHost).Assembly.GetTypes().Where(t => typeof(CarterModule).IsAssignableFrom(t));
        Assert.Empty(hostModules); // the Host is the composition root only
    }

    [Fact]
    public void Features_do_not_touch_tables_of_other_features()
    {
        // Each feature's SQL may name only tables it created in its own migrations.
        var owned = HiveFeatures.Assemblies.ToDictionary(a => a, a => Hive.Shared.Data.Migrator.ScriptsOf(a)
            .SelectMany(s => System.Text.RegularExpressions.Regex.Matches(s.Sql ?? "", @"CREATE TABLE (?:IF NOT EXISTS )?(\w+)").Select(m => m.Groups[1].Value))
            .ToHashSet());
        var root = RepoRoot();
        foreach (var (assembly, tables) in owned)
        {
            var others = owned.Where(o => o.Key != assembly).SelectMany(o => o.Value).ToList();
            var folder = Path.GetDirectoryName(Directory.GetFiles(Path.Combine(root, "src"), assembly.GetName().Name + ".csproj", SearchOption.AllDirectories).Single())!;
            foreach (var file in Directory.GetFiles(folder, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
            {
                var text = File.ReadAllText(file);
                foreach (var table in others)
                    Assert.DoesNotMatch($@"(?i)\b(FROM|JOIN|INTO|UPDATE|TABLE)\s+{table}\b", text);
            }
        }
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hive.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Hive.sln not found above the test binaries");
    }
}
