using System.Text.RegularExpressions;
using Hive.Contracts.Work;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Agents;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using static Hive.Features.Work.StrictYaml;

namespace Hive.Features.Work;

/// <summary>
/// Reads a workflow file strictly: every key known, every value of its type, every reference resolved. A refusal names
/// the line (1-based) and the reason, never more of the input than a key or a phase name.
/// </summary>
internal static partial class WorkflowParser
{
    public const int MaxBytes = 256 * 1024;
    private const int MaxPhases = 32;

    public static Workflow Parse(string fileName, string yaml)
    {
        if (yaml.Length > MaxBytes) throw new WorkflowException(1, $"the file is over {MaxBytes / 1024} KiB");
        var stream = new YamlStream();
        try
        {
            // The node tree is built recursively: a file nested thousands deep would overflow the stack and take the host
            // (and every restart) with it. One flat pass first bounds its depth and size.
            Bound(yaml);
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new WorkflowException(e.Start.Line, FirstLine(e.InnerException?.Message ?? e.Message));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this (not a YamlException) on some unterminated flow collections.
            throw new WorkflowException(LastGoodLine(yaml), "the YAML does not parse after this line (an unclosed [ or { ?)");
        }
        if (stream.Documents.Count != 1) throw new WorkflowException(1, "a workflow file holds exactly one YAML document");
        var root = Mapping(stream.Documents[0].RootNode, "the file");
        Keys(root, "the workflow", "name", "description", "repository", "check", "phases");

        var name = Text(root, "name", required: true)!;
        if (!WorkflowName().IsMatch(name)) throw At(root, "name", "name must match ^[a-z][a-z0-9_-]{0,40}$");
        if (name != fileName) throw At(root, "name", $"name is '{name}' but the file is {fileName}.yaml: they must agree");
        var (repository, credential) = Repository(root);

        if (!root.Children.TryGetValue(new YamlScalarNode("phases"), out var phasesNode)) throw new WorkflowException(root.Start.Line, "phases is missing");
        if (phasesNode is not YamlSequenceNode phaseList || phaseList.Children.Count == 0) throw new WorkflowException(phasesNode.Start.Line, "phases must be a non-empty list");
        if (phaseList.Children.Count > MaxPhases) throw new WorkflowException(phasesNode.Start.Line, $"at most {MaxPhases} phases");

        var phases = new List<(Phase Phase, YamlMappingNode Node)>();
        foreach (var node in phaseList.Children)
        {
            var phase = ParsePhase(Mapping(node, "a phase"));
            if (phases.Any(p => p.Phase.Name == phase.Name)) throw new WorkflowException(node.Start.Line, $"phase '{phase.Name}' is defined twice");
            phases.Add((phase, (YamlMappingNode)node));
        }

        var names = phases.Select(p => p.Phase.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (phase, node) in phases)
        {
            if (phase.AllowedTransitions.FirstOrDefault(t => !names.Contains(t)) is { } unknown)
                throw At(node, "allowed_transitions", $"phase '{phase.Name}' may move to '{unknown}', which is not a phase of this workflow");
            if (phase.AllowedTransitions.Contains(phase.Name)) throw At(node, "allowed_transitions", $"phase '{phase.Name}' cannot move to itself");
            if (!phase.Terminal && !phase.Side && phase.AllowedTransitions.Count == 0)
                throw At(node, "name", $"phase '{phase.Name}' has no allowed_transitions: mark it terminal, or say where it goes");
            if (phase.Terminal && phase.AllowedTransitions.Count > 0) throw At(node, "allowed_transitions", $"terminal phase '{phase.Name}' cannot move on");
            if (phase.Side && (phase.WipLimit is not null || phase.IsWorked || phase.ReviewedBy is not null || phase.ExpectedOutputs.Count > 0))
                throw At(node, "side", $"side phase '{phase.Name}' takes no wip_limit, needs, reviewed_by or expected_outputs (a ticket in it keeps its column)");
            if (phase.ReviewedBy is not null && phase.IsWorked)
                throw At(node, "reviewed_by", $"phase '{phase.Name}' is either worked (needs) or reviewed (reviewed_by), not both");
            if (phase.ExpectedOutputs.Any(o => o.Kind is ExpectedOutput.Branch or ExpectedOutput.Commit) && repository is null)
                throw At(node, "expected_outputs", $"phase '{phase.Name}' expects a branch or commit, but the workflow names no repository");
        }
        if (phases[0].Phase.Side || phases[0].Phase.Terminal) throw new WorkflowException(phases[0].Node.Start.Line, "the first phase (where tickets start) cannot be a side or terminal phase");
        if (phases.Count(p => p.Phase.Side) > 1) throw new WorkflowException(phases.Where(p => p.Phase.Side).Skip(1).First().Node.Start.Line, "at most one side phase");
        if (!phases.Any(p => p.Phase.Terminal)) throw new WorkflowException(phasesNode.Start.Line, "no phase is terminal: a ticket could never be done");
        var workflow = new Workflow(name, Text(root, "description"), repository, [.. phases.Select(p => p.Phase)])
        {
            RepositoryCredential = credential, Check = Check(root, repository),
        };
        return workflow with { Warnings = PassThroughWarnings(workflow) };
    }

    /// <summary>
    /// A queue after the first phase (neither needs nor reviewed_by): loaded, since a holding column before a WIP-limited
    /// one is a fair design, but said, since one meant as a check lets every ticket through unchecked.
    /// </summary>
    private static IReadOnlyList<string> PassThroughWarnings(Workflow workflow) =>
    [
        .. workflow.Phases.Skip(1).Where(p => p.IsQueue).Select(p => workflow.NextAfter(p) is { } next
            ? $"phase '{p.Name}' has neither needs nor reviewed_by: nobody works or checks a ticket there, the board moves it on to " +
              $"{next.Name} {(next.WipLimit is null ? "at once" : "as soon as it has room")}; to hold tickets for a person, give it reviewed_by: operator"
            : $"phase '{p.Name}' has neither needs nor reviewed_by: nobody works or checks a ticket there"),
    ];

    /// <summary>
    /// <c>repository:</c> <c>owner/name</c> (on the forge), a plain one's URL or path, or a mapping <c>{url, credential}</c>
    /// for a plain one that needs a credential (a secret's name); whether it answers is asked when the file is loaded.
    /// </summary>
    private static (string? Address, string? Credential) Repository(YamlMappingNode root)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode("repository"), out var node)) return (null, null);
        string? address, credential = null;
        if (node is YamlMappingNode map)
        {
            Keys(map, "repository", "url", "credential");
            address = Text(map, "url", required: true);
            credential = Text(map, "credential");
        }
        else address = Text(root, "repository");
        if (address is null) return (null, null);
        if (new WorkRepository(address, credential).Problem is { } problem) throw At(root, "repository", $"repository: {problem}");
        return (address, credential);
    }

    /// <summary>
    /// <c>check:</c> the merge queue's command, an argv list (no shell unless it names one); only beside a repository, since
    /// it runs over the repository's merged tree.
    /// </summary>
    private static IReadOnlyList<string>? Check(YamlMappingNode root, string? repository)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode("check"), out var node)) return null;
        if (node is not YamlSequenceNode list || list.Children.Count == 0)
            throw new WorkflowException(node.Start.Line, "check must be a non-empty list: the command and its arguments, e.g. [sh, test.sh]");
        if (list.Children.Count > MaxCheckArgs) throw new WorkflowException(node.Start.Line, $"check: at most {MaxCheckArgs} arguments");
        var argv = new List<string>();
        foreach (var item in list.Children)
        {
            if (item is not YamlScalarNode { Value: { Length: > 0 and <= 4096 } text } || text.Contains('\0'))
                throw new WorkflowException(item.Start.Line, "check: each argument is a plain value of 1 to 4096 characters");
            argv.Add(text);
        }
        if (repository is null) throw new WorkflowException(node.Start.Line, "check runs over the repository's merged branches, but the workflow names no repository");
        return argv;
    }

    private const int MaxCheckArgs = 64;

    private static Phase ParsePhase(YamlMappingNode node)
    {
        Keys(node, "a phase", "name", "prompt", "done_definition", "expected_outputs", "allowed_transitions", "wip_limit", "needs", "reviewed_by", "terminal", "side");
        var name = Text(node, "name", required: true)!;
        if (!PhaseName().IsMatch(name)) throw At(node, "name", "a phase's name must match ^[a-z][a-z0-9_-]{0,30}$");
        var wip = Text(node, "wip_limit");
        int? wipLimit = null;
        if (wip is not null)
        {
            if (!int.TryParse(wip, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var limit) || limit is < 1 or > 10_000)
                throw At(node, "wip_limit", $"phase '{name}': wip_limit must be a whole number from 1 to 10000");
            wipLimit = limit;
        }
        var needs = List(node, "needs");
        if (needs.FirstOrDefault(n => !AgentNames.IsWellFormed(n)) is { } bad) throw At(node, "needs", $"phase '{name}': '{bad}' is not a capability name (^[a-z][a-z0-9-]{{0,30}}$)");
        var reviewedBy = Text(node, "reviewed_by");
        if (reviewedBy is not null && !AgentNames.IsWellFormed(reviewedBy)) throw At(node, "reviewed_by", $"phase '{name}': reviewed_by must be a capability name");
        return new Phase(name, Text(node, "prompt"), List(node, "done_definition"), Outputs(node, name), List(node, "allowed_transitions"),
            wipLimit, needs, reviewedBy, Flag(node, "terminal"), Flag(node, "side"));
    }

    private static IReadOnlyList<ExpectedOutput> Outputs(YamlMappingNode phase, string phaseName)
    {
        if (!phase.Children.TryGetValue(new YamlScalarNode("expected_outputs"), out var node)) return [];
        if (node is not YamlSequenceNode list) throw new WorkflowException(node.Start.Line, $"phase '{phaseName}': expected_outputs must be a list");
        if (list.Children.Count > MaxItems) throw new WorkflowException(node.Start.Line, $"phase '{phaseName}': at most {MaxItems} expected_outputs");
        var outputs = new List<ExpectedOutput>();
        foreach (var item in list.Children)
        {
            var map = Mapping(item, "an expected output");
            Keys(map, "an expected output", "kind", "path", "description");
            var kind = Text(map, "kind", required: true)!;
            if (!ExpectedOutput.Kinds.Contains(kind)) throw At(map, "kind", $"phase '{phaseName}': kind '{kind}' is not one of {string.Join(", ", ExpectedOutput.Kinds)}");
            var path = Text(map, "path");
            if (kind == ExpectedOutput.File)
            {
                if (path is null) throw new WorkflowException(map.Start.Line, $"phase '{phaseName}': a file output needs a path (relative to the ticket's work dir)");
                if (!IsPlainRelativePath(path) || path.Length > 500)
                    throw At(map, "path", $"phase '{phaseName}': '{path}' must be a plain relative path inside the work dir");
            }
            else if (path is not null) throw At(map, "path", $"phase '{phaseName}': only a file output has a path");
            outputs.Add(new ExpectedOutput(kind, path, Text(map, "description")));
        }
        return outputs;
    }

    /// <summary>A path inside a work dir: relative, no empty, <c>.</c> or <c>..</c> segment, no control character.</summary>
    public static bool IsPlainRelativePath(string path) =>
        !path.StartsWith('/') && path.Split('/').All(s => s is not ("" or "." or "..")) && !path.Any(char.IsControl);

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,40}$")]
    internal static partial Regex WorkflowName();

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,30}$")]
    private static partial Regex PhaseName();
}

/// <summary>A workflow file refused: the line (1-based) and why.</summary>
public sealed class WorkflowException(long line, string reason) : Exception($"line {line}: {reason}")
{
    public long Line { get; } = line;
    public string Reason { get; } = reason;
}
