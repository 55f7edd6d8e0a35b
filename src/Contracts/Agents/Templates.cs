using System.Text.Json.Serialization;

namespace Hive.Contracts.Agents;

/// <summary>
/// A template: a directory's files by their path in it (<c>manifest.json</c>, <c>swarm.json</c>, <c>presets/NAME.json</c>),
/// as <c>GET /api/templates/export</c> answers and <c>POST /api/templates/import</c> and <c>/diff</c> take them.
/// </summary>
public sealed record TemplateFiles(IReadOnlyDictionary<string, string> Files);

/// <summary>
/// <c>manifest.json</c>: the template's name, each file's SHA-256, the secrets its agents need (names, never values), and
/// <c>hash</c>, the SHA-256 over the sorted <c>path sha256</c> lines: the template's identity, kept on every agent imported from it.
/// </summary>
public sealed record TemplateManifest(
    string Format, string Name, IReadOnlyDictionary<string, string> Files, IReadOnlyList<string> Secrets, string Hash)
{
    public const string CurrentFormat = "hive-template/1";
}

/// <summary><c>POST /api/templates/import</c>: the files, a prefix for every agent's name, and whether only to show the plan.</summary>
public sealed record TemplateImportRequest(IReadOnlyDictionary<string, string>? Files, string? Prefix = null, bool DryRun = false);

/// <summary>
/// What an import makes (or would): each agent by its new name, the secrets it needs that this hive lacks (named, never
/// invented), the plan as text, and the approval the operator decides it by (null on a dry run).
/// </summary>
public sealed record TemplateImportReply(
    string Template, string Hash, IReadOnlyList<TemplatedAgent> Agents, IReadOnlyList<string> MissingSecrets, string Plan, long? ApprovalId);

/// <summary>One agent of a template as it would be made here: its new name, its parent's, its preset, and its whole configuration.</summary>
public sealed record TemplatedAgent(
    string Name, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Preset, AgentConfig Config);

/// <summary><c>POST /api/templates/diff</c>: the files and the prefix they were imported with.</summary>
public sealed record TemplateDiffRequest(IReadOnlyDictionary<string, string>? Files, string? Prefix = null);

/// <summary>How the live agents drifted from a template: per agent <c>missing</c>, <c>same</c> or <c>drifted</c>, with the fields that differ.</summary>
public sealed record TemplateDiffReply(string Template, string Hash, IReadOnlyList<TemplateDrift> Agents);

public sealed record TemplateDrift(string Name, string State, IReadOnlyList<FieldDrift> Fields);

/// <summary>One field that differs: its value in the template and live, as JSON text (null: not set).</summary>
public sealed record FieldDrift(string Field, string? Template, string? Live);
