using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Hive.Tests.Architecture;

namespace Hive.Tests.Cli;

/// <summary>hivectl is a client of the wire protocol: it references no hive assembly (the host, the kernel, a feature).</summary>
public sealed class CliBoundaryTests
{
    [Fact]
    public void Hivectl_references_no_hive_assembly()
    {
        using var pe = new PEReader(File.OpenRead(Hivectl.Dll));
        var metadata = pe.GetMetadataReader();
        var references = metadata.AssemblyReferences.Select(h => metadata.GetString(metadata.GetAssemblyReference(h).Name)).ToList();
        Assert.Contains("System.CommandLine", references);
        Assert.DoesNotContain(references, r => r.StartsWith("Hive.", StringComparison.Ordinal));

        var project = File.ReadAllText(Path.Combine(HiveSources.RepoRoot(), "src", "Cli", "Hive.Cli.csproj"));
        Assert.DoesNotContain("ProjectReference", project);
    }
}
