namespace Hive.Contracts.Work;

/// <summary>
/// A workflow as loaded from <c>meta/workflows/&lt;name&gt;.yaml</c>: its phases in order (the board's columns), the first
/// being where a new ticket starts. A <c>terminal</c> phase ends a ticket; a <c>side</c> phase (blocked) is not a column:
/// a ticket in it stays in the column it came from, marked. A phase with neither <c>needs</c> nor <c>reviewed_by</c> (nor
/// terminal or side) is a queue: nobody works or checks a ticket there, the board moves it on as soon as the next column
/// has room. The first phase is the backlog; any later queue is reported in <see cref="Warnings"/> when it is loaded.
/// </summary>
/// <param name="Repository">The project's repository: <c>owner/name</c> on the forge, or a plain one (an http(s) or file URL, or
/// an absolute path on the host); null when the workflow has none (its tickets get no workspace).</param>
public sealed record Workflow(string Name, string? Description, string? Repository, IReadOnlyList<Phase> Phases)
{
    /// <summary>A plain http(s) repository's credential: the name of the secret holding its password or token (never the value).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? RepositoryCredential { get; init; }

    /// <summary>
    /// The command the merge queue runs over a batch merged onto the base (<c>check: [argv...]</c>, beside <c>repository</c>),
    /// in a sealed sandbox from the merged tree's root: exit 0 lands the batch. Null: batches land once they merge.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Check { get; init; }

    /// <summary>What loads but is likely not what its author meant (a phase tickets pass through at once); one line each.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    [System.Text.Json.Serialization.JsonIgnore]
    public Phase Initial => Phases[0];

    public Phase? Find(string name) => Phases.FirstOrDefault(p => p.Name == name);

    [System.Text.Json.Serialization.JsonIgnore]
    public Phase? SidePhase => Phases.FirstOrDefault(p => p.Side);

    /// <summary>The phase a ticket moves to when it leaves <paramref name="phase"/> without naming one: its first allowed move that is not a side phase.</summary>
    public Phase? NextAfter(Phase phase) =>
        phase.AllowedTransitions.Select(Find).FirstOrDefault(p => p is { Side: false });
}

/// <param name="Needs">Capabilities an agent must have to be offered or to claim a ticket in this phase (any one of them).</param>
/// <param name="ReviewedBy">When set, leaving this phase is a review: a question to an agent with this capability (not the
/// ticket's last worker), or to the operator when there is none, answered <c>approve</c> or <c>changes</c>;
/// <c>operator</c> asks the operator always, so the ticket waits there for a person.</param>
public sealed record Phase(
    string Name, string? Prompt, IReadOnlyList<string> DoneDefinition, IReadOnlyList<ExpectedOutput> ExpectedOutputs,
    IReadOnlyList<string> AllowedTransitions, int? WipLimit, IReadOnlyList<string> Needs, string? ReviewedBy, bool Terminal, bool Side)
{
    /// <summary>A phase an agent works in (it is offered and claimed); the others are queues, reviews and ends.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsWorked => Needs.Count > 0;

    /// <summary>Neither worked nor reviewed nor an end: a ticket waits here only until the next column has room.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsQueue => !IsWorked && ReviewedBy is null && !Terminal && !Side;
}

/// <summary>An artifact the gate checks: a file under the ticket's work dir, a branch or commit on the forge, a URL, a note.</summary>
public sealed record ExpectedOutput(string Kind, string? Path, string? Description)
{
    public const string File = "file";
    public const string Branch = "branch";
    public const string Commit = "commit";
    public const string Url = "url";
    public const string Note = "note";
    public static readonly IReadOnlyList<string> Kinds = [File, Branch, Commit, Url, Note];

    [System.Text.Json.Serialization.JsonIgnore]
    public string Label => Kind == File ? $"file {Path}" : Description is { } d ? $"{Kind} ({d})" : Kind;
}

/// <summary>A workflow file that was refused: its name, the line and the reason; <c>kept</c> says whether an earlier version runs instead.</summary>
public sealed record WorkflowError(string File, long Line, string Reason, bool Kept);
