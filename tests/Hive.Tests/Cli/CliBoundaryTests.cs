using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Hive.Tests.Architecture;

namespace Hive.Tests.Cli;

/// <summary>hivectl is a client of the wire protocol: it references no hive assembly (the host, the kernel, a feature) but the contracts, the wire's plain records.</summary>
public sealed class CliBoundaryTests
{
    [Fact]
    public void Hivectl_references_no_hive_assembly_but_the_contracts()
    {
        using var pe = new PEReader(File.OpenRead(Hivectl.Dll));
        var metadata = pe.GetMetadataReader();
        var references = metadata.AssemblyReferences.Select(h => metadata.GetString(metadata.GetAssemblyReference(h).Name)).ToList();
        Assert.Contains("System.CommandLine", references);
        Assert.Equal(["Hive.Contracts"], references.Where(r => r.StartsWith("Hive.", StringComparison.Ordinal)));

        var project = File.ReadAllText(Path.Combine(HiveSources.RepoRoot(), "src", "Cli", "Hive.Cli.csproj"));
        Assert.Equal(["../Contracts/Hive.Contracts.csproj"],
            System.Text.RegularExpressions.Regex.Matches(project, "ProjectReference Include=\"([^\"]+)\"").Select(m => m.Groups[1].Value));

        // The contracts stay plain: they reference nothing of the hive, no MediatR and no ASP.NET.
        using var contracts = new PEReader(File.OpenRead(Path.Combine(Path.GetDirectoryName(Hivectl.Dll)!, "Hive.Contracts.dll")));
        var contractsMetadata = contracts.GetMetadataReader();
        Assert.DoesNotContain(contractsMetadata.AssemblyReferences.Select(h => contractsMetadata.GetString(contractsMetadata.GetAssemblyReference(h).Name)),
            r => r.StartsWith("Hive.", StringComparison.Ordinal) || r.StartsWith("MediatR", StringComparison.Ordinal) || r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
    }
}
