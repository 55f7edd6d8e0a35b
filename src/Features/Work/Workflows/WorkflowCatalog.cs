using System.Reflection;
using Hive.Contracts.Work;

namespace Hive.Features.Work;

/// <summary>
/// The workflows in force, in memory (the board reads them on every move), and the files refused at the last load with
/// their line and reason. Set only by <see cref="LoadWorkflows"/>.
/// </summary>
public sealed class WorkflowCatalog
{
    public const string DefaultWorkflow = "software_development";
    private volatile IReadOnlyDictionary<string, Workflow> _workflows = Shipped().ToDictionary(w => w.Name);
    private volatile IReadOnlyList<WorkflowError> _errors = [];

    public IReadOnlyDictionary<string, Workflow> All => _workflows;

    public IReadOnlyList<WorkflowError> Errors => _errors;

    public Workflow? Find(string name) => _workflows.GetValueOrDefault(name);

    public Workflow Get(string name) => Find(name) ?? throw new InvalidOperationException($"workflow {name} is not loaded");

    /// <summary>The phase a ticket is in; a phase its workflow no longer has (a loaded version dropped it) is a conflict, never a crash.</summary>
    internal Phase PhaseOf(TicketRow row) =>
        Find(row.Workflow)?.Find(row.Phase) ?? throw new Hive.Shared.Errors.ConflictException(TicketMoveRule.NoSuchPhase(row));

    public bool IsTerminal(string workflow, string phase) => Find(workflow)?.Find(phase)?.Terminal ?? false;

    /// <summary>Every workflow's phases <paramref name="which"/> picks, as a JSON list of <c>workflow/phase</c> (queries match them with <c>json_each</c>).</summary>
    public string PhaseKeys(Func<Phase, bool> which) =>
        System.Text.Json.JsonSerializer.Serialize(All.Values.SelectMany(w => w.Phases.Where(which).Select(p => $"{w.Name}/{p.Name}")).ToList());

    internal void Set(IReadOnlyDictionary<string, Workflow> workflows, IReadOnlyList<WorkflowError> errors)
    {
        _workflows = workflows;
        _errors = errors;
    }

    /// <summary>The workflow files Hive ships (name → YAML), copied into the meta repo when missing.</summary>
    internal static IReadOnlyDictionary<string, string> ShippedFiles()
    {
        var assembly = typeof(WorkflowCatalog).Assembly;
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.EndsWith(".yaml", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            var name = resource[..^".yaml".Length];
            files[name[(name.LastIndexOf('.') + 1)..] + ".yaml"] = reader.ReadToEnd();
        }
        return files;
    }

    private static IEnumerable<Workflow> Shipped() =>
        ShippedFiles().Select(f => WorkflowParser.Parse(Path.GetFileNameWithoutExtension(f.Key), f.Value));
}
