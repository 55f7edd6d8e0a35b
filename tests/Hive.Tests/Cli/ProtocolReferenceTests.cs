using Hive.Contracts.Protocol;

namespace Hive.Tests.Cli;

/// <summary>docs/agents/protocol.md is what <c>hivectl protocol</c> prints from the verb catalog: never edited by hand, never stale.</summary>
public sealed class ProtocolReferenceTests
{
    [Fact]
    public async Task Docs_agents_protocol_md_is_what_hivectl_protocol_prints()
    {
        var run = await Hivectl.RunAsync(["protocol"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var path = Path.Combine(Architecture.HiveSources.RepoRoot(), "docs", "agents", "protocol.md");
        var onDisk = File.Exists(path) ? await File.ReadAllTextAsync(path) : "(missing)";
        Assert.True(onDisk == run.Stdout,
            $"{path} is stale: run `dotnet run --project src/Cli -- protocol > docs/agents/protocol.md` and commit it");
    }

    [Fact]
    public async Task Every_declared_verb_has_its_section_with_its_required_arguments()
    {
        var run = await Hivectl.RunAsync(["protocol"]);
        foreach (var verb in AgentProtocol.Verbs)
        {
            Assert.Contains($"\n## {verb.Name}\n", run.Stdout);
            foreach (var required in VerbSchema.Of(verb.Args)["required"]?.AsArray() ?? [])
                Assert.Contains($"| `{required}` |", Section(run.Stdout, verb.Name));
        }
        Assert.Contains("| [`request_spawn`](#request_spawn) | the manager | yes |", run.Stdout);
    }

    private static string Section(string doc, string verb)
    {
        var start = doc.IndexOf($"\n## {verb}\n", StringComparison.Ordinal);
        var end = doc.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? doc[start..] : doc[start..end];
    }
}
