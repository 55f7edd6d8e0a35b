using System.Reflection;
using Hive.Host;

namespace Hive.Tests.Architecture;

/// <summary>Where the hive's assemblies and their source files are, for the architecture rules.</summary>
internal static class HiveSources
{
    /// <summary>The hive's assemblies in dependency order: the kernel first, then each feature after what it uses.</summary>
    public static IReadOnlyList<Assembly> Assemblies => HiveFeatures.Assemblies;

    public static string NameOf(Assembly assembly) => assembly.GetName().Name!;

    public static bool IsFeature(string assemblyName) => assemblyName.StartsWith("Hive.Features.", StringComparison.Ordinal);

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hive.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Hive.sln not found above the test binaries");
    }

    /// <summary>The folder of the project that builds <paramref name="assembly"/> (src/Shared, src/Features/X).</summary>
    public static string ProjectFolderOf(Assembly assembly) =>
        Path.GetDirectoryName(Directory.GetFiles(Path.Combine(RepoRoot(), "src"), NameOf(assembly) + ".csproj", SearchOption.AllDirectories).Single())!;

    /// <summary>Every file of the project with one of <paramref name="extensions"/>, build output left out; paths relative to the repo.</summary>
    public static IReadOnlyList<(string Path, string Text)> FilesOf(Assembly assembly, params string[] extensions)
    {
        var root = RepoRoot();
        return extensions
            .SelectMany(ext => Directory.GetFiles(ProjectFolderOf(assembly), "*" + ext, SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(root, f), File.ReadAllText(f)))
            .ToList();
    }
}
