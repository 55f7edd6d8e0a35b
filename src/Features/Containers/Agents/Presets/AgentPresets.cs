using System.Text.Json;
using System.Text.RegularExpressions;
using Hive.Contracts.Json;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Presets;

/// <summary>
/// A preset, as its file holds it: the program it needs (looked up on the host), the command, env and secrets it gives an
/// agent, and texts (prompts) the command may name. <c>${name}</c>, <c>${purpose}</c>, <c>${program}</c> and each text's
/// key are replaced in the command; the texts may use the first two. The manager gets <c>manager_text</c> over <c>text</c>.
/// <c>provider</c>, when given, is the model provider its agents count against unless the caller names one; <c>network</c>,
/// <c>egress</c>, <c>egress_ask</c> and <c>permissions</c> likewise (a preset's agent is sealed when neither names a network).
/// <c>program_mount</c>, when given, names the directory above the program that the sandbox is shown instead of the program
/// alone (<c>node_modules</c>, for a Node script that imports its packages).
/// </summary>
public sealed record AgentPreset(
    string? Description, string? Program, string? Install, IReadOnlyList<string>? Command, IReadOnlyDictionary<string, string>? Env,
    IReadOnlyDictionary<string, string>? Secrets, IReadOnlyDictionary<string, string>? Text, IReadOnlyDictionary<string, string>? ManagerText,
    string? Provider = null, string? Network = null, IReadOnlyList<string>? Egress = null, bool? EgressAsk = null,
    Hive.Contracts.Agents.AgentPermissions? Permissions = null, string? ProgramMount = null, long? Context = null);

/// <summary>A preset as <c>GET /api/presets</c> lists it: where its program is found on this host, or why it is not.</summary>
public sealed record PresetView(string Name, string? Description, string? Program, string? ProgramPath, string? Problem);

/// <summary>The <c>Hive:Presets</c> section: per preset (by its name in PascalCase, <c>ClaudeCode</c>), where its program is.</summary>
public sealed class PresetsOptions : Dictionary<string, PresetProgramOptions>
{
    public PresetsOptions() : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

public sealed class PresetProgramOptions
{
    /// <summary>The program's path; when empty, its name is looked up on the host's PATH.</summary>
    public string? Path { get; set; }
}

/// <summary>
/// The agent presets: data, not code. The ones this hive ships (embedded in this assembly) are copied into the meta repo's
/// <c>presets/</c> once each (an operator's edit of one is never overwritten), and every <c>presets/*.json</c> there is a
/// preset, so an operator adds one by dropping a file in. A preset is read each time it is used, and expanded into a plain
/// configuration: nothing downstream knows presets exist.
/// </summary>
public sealed partial class AgentPresets(MetaRepo meta, IOptions<PresetsOptions> options, ILogger<AgentPresets> logger)
{
    private volatile bool _shipped;

    /// <summary>Every preset by name, the shipped ones first written into the meta repo when missing there.</summary>
    public async Task<IReadOnlyList<PresetView>> ListAsync()
    {
        var views = new List<PresetView>();
        foreach (var (name, text) in await FilesAsync())
        {
            try
            {
                var preset = Parse(name, text);
                var (path, problem) = ProgramOf(name, preset);
                views.Add(new PresetView(name, preset.Description, preset.Program, path, problem));
            }
            catch (HiveException e)
            {
                views.Add(new PresetView(name, null, null, null, e.Message));
            }
        }
        return views;
    }

    /// <summary>
    /// The configuration <paramref name="presetName"/> gives the agent <paramref name="name"/>; what the caller gave
    /// (<paramref name="env"/>, <paramref name="secrets"/>, <paramref name="mounts"/>, <paramref name="provider"/>) goes over the preset's.
    /// </summary>
    public async Task<Expanded> ExpandAsync(
        string presetName, string name, string? purpose, IReadOnlyDictionary<string, string>? env, IReadOnlyDictionary<string, string>? secrets,
        IReadOnlyList<string>? mounts, string? provider)
    {
        var files = await FilesAsync();
        if (!files.TryGetValue(presetName, out var text))
            throw new NotFoundException($"no preset named {presetName}; presets here: {string.Join(", ", files.Keys)}");
        return Expand(presetName, text, name, purpose, env, secrets, mounts, provider);
    }

    /// <summary>The context, in tokens, the preset named <paramref name="presetName"/> says its agent needs; null when it says none or is gone.</summary>
    public async Task<long?> ContextOfAsync(string presetName) =>
        await TextOfAsync(presetName) is { } text ? Parse(presetName, text).Context : null;

    /// <summary>The text of the preset file named <paramref name="presetName"/>, or null when this hive has none by that name.</summary>
    public async Task<string?> TextOfAsync(string presetName) => (await FilesAsync()).GetValueOrDefault(presetName);

    /// <summary>
    /// As <see cref="ExpandAsync"/>, for a preset given as its file's text rather than found in <c>presets/</c> (a replay
    /// tried with a changed preset); <paramref name="presetName"/> is its name (its program's setting is looked up by it).
    /// </summary>
    public Expanded Expand(
        string presetName, string text, string name, string? purpose, IReadOnlyDictionary<string, string>? env, IReadOnlyDictionary<string, string>? secrets,
        IReadOnlyList<string>? mounts, string? provider)
    {
        var preset = Parse(presetName, text);
        var (program, problem) = ProgramOf(presetName, preset);
        if (problem is not null) throw new BadRequestException(problem);

        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["name"] = name,
            ["purpose"] = string.IsNullOrWhiteSpace(purpose) ? DefaultPurpose(name) : purpose,
        };
        var texts = new Dictionary<string, string>(preset.Text ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (name == AgentNames.Manager)
            foreach (var (key, value) in preset.ManagerText ?? new Dictionary<string, string>()) texts[key] = value;
        foreach (var (key, value) in texts) values[key] = Substitute(presetName, value, values, ["name", "purpose"]);
        if (program is not null) values["program"] = program;

        var command = preset.Command!.Select(item => Substitute(presetName, item, values, values.Keys)).ToList();
        var mergedEnv = Merge(preset.Env, env);
        var mergedSecrets = Merge(preset.Secrets, secrets);
        foreach (var key in mergedSecrets.Keys) mergedEnv.Remove(key); // the caller's secret wins over the preset's plain value
        foreach (var key in (env ?? new Dictionary<string, string>()).Keys) mergedSecrets.Remove(key); // and the caller's env over its secret
        var allMounts = (mounts ?? []).ToList();
        // The program is bound into the sandbox where it lies on the host, unless the sandbox sees it already: the file, or
        // the tree it runs from (program_mount: a script's node_modules, whose packages it imports).
        var bound = program is null || preset.ProgramMount is not { } tree ? program : AncestorNamed(program, tree)
            ?? throw new BadRequestException($"the {presetName} preset's program {program} is not under a directory named {tree} (program_mount)");
        if (bound is not null && !BubblewrapDriver.Visible(bound, allMounts)) allMounts.Add(bound);
        return new Expanded(command, mergedEnv, mergedSecrets.Count == 0 ? null : mergedSecrets, allMounts, values["purpose"], provider ?? preset.Provider,
            preset.Network, preset.Egress, preset.EgressAsk, preset.Permissions, preset.Context);
    }

    /// <summary>A preset expanded: the command, env, secrets, mounts and provider to configure the agent with, and its purpose.</summary>
    public sealed record Expanded(
        IReadOnlyList<string> Command, IReadOnlyDictionary<string, string> Env, IReadOnlyDictionary<string, string>? Secrets,
        IReadOnlyList<string> Mounts, string Purpose, string? Provider, string? Network = null, IReadOnlyList<string>? Egress = null, bool? EgressAsk = null,
        Hive.Contracts.Agents.AgentPermissions? Permissions = null, long? Context = null);

    private static string? AncestorNamed(string path, string name)
    {
        for (var dir = Path.GetDirectoryName(path); dir is not null; dir = Path.GetDirectoryName(dir))
            if (Path.GetFileName(dir) == name) return dir;
        return null;
    }

    private static string DefaultPurpose(string name) =>
        name == AgentNames.Manager ? "keep the hive's agents working on what the operator asks" : "help the operator and the other agents";

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string>? under, IReadOnlyDictionary<string, string>? over)
    {
        var merged = new Dictionary<string, string>(under ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (key, value) in over ?? new Dictionary<string, string>()) merged[key] = value;
        return merged;
    }

    private static string Substitute(string preset, string text, IReadOnlyDictionary<string, string> values, IEnumerable<string> allowed)
    {
        var known = allowed.ToHashSet(StringComparer.Ordinal);
        return Placeholder().Replace(text, match =>
        {
            var key = match.Groups[1].Value;
            return known.Contains(key) && values.TryGetValue(key, out var value) ? value
                : throw new BadRequestException($"the preset {preset} uses ${{{key}}}, which it does not define here");
        });
    }

    /// <summary>Where the preset's program is on this host: <c>Hive:Presets:&lt;Name&gt;:Path</c>, else its name on PATH.</summary>
    private (string? Path, string? Problem) ProgramOf(string presetName, AgentPreset preset)
    {
        if (preset.Program is null) return (null, null);
        var key = SettingKey(presetName);
        var configured = options.Value.TryGetValue(key, out var settings) && !string.IsNullOrWhiteSpace(settings.Path) ? settings.Path : null;
        var (found, problem) = Executables.Resolve(configured ?? preset.Program, AgentPrograms.AgentPath);
        if (found is null)
            return (null, $"the {presetName} preset needs {preset.Program} on this machine: {problem}; " +
                          (preset.Install is { } install ? $"install it ({install}) or " : "") + $"set Hive:Presets:{key}:Path");
        // The real file, so a link re-pointed later (an npm upgrade) does not change what a configuration names.
        return (new FileInfo(found).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? found, null);
    }

    /// <summary><c>claude-code</c> → <c>ClaudeCode</c>.</summary>
    public static string SettingKey(string presetName) =>
        string.Concat(presetName.Split('-', StringSplitOptions.RemoveEmptyEntries).Select(part => char.ToUpperInvariant(part[0]) + part[1..]));

    private static AgentPreset Parse(string name, string text)
    {
        AgentPreset? preset;
        try
        {
            using var document = JsonDocument.Parse(text, StrictJson.DocumentOptions);
            preset = document.Deserialize<AgentPreset>(HiveJson.Options);
        }
        catch (JsonException e)
        {
            throw new BadRequestException($"presets/{name}.json is not a valid preset: {e.Message}");
        }
        if (preset?.Command is not { Count: > 0 })
            throw new BadRequestException($"presets/{name}.json is not a valid preset: it has no command");
        return preset;
    }

    /// <summary>The presets' files by name: the meta repo's (the shipped ones copied in first), or only the shipped ones without a meta repo.</summary>
    private async Task<SortedDictionary<string, string>> FilesAsync()
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var shipped = Shipped();
        try
        {
            if (!_shipped)
            {
                await meta.AddMissingFilesAsync("presets", shipped.ToDictionary(p => p.Key + ".json", p => p.Value), "hive: the shipped agent presets");
                _shipped = true;
            }
            var dir = Path.Combine(meta.Dir, "presets");
            foreach (var file in Directory.EnumerateFiles(dir, "*.json"))
            {
                var name = Path.GetFileNameWithoutExtension(file);
                if (!AgentNames.IsWellFormed(name) || new FileInfo(file).Length > MaxPresetBytes) continue;
                files[name] = await File.ReadAllTextAsync(file);
            }
        }
        catch (Exception e) when (e is MetaFileException or IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("presets: the meta repo's presets cannot be read ({Why}); using the shipped ones", e.Message);
            foreach (var (name, text) in shipped) files[name] = text;
        }
        return files;
    }

    private const long MaxPresetBytes = 64 * 1024;

    /// <summary>The shipped presets' resource names (the project file names them so).</summary>
    private const string ResourcePrefix = "Presets/";

    private static IReadOnlyDictionary<string, string> Shipped()
    {
        var assembly = typeof(AgentPresets).Assembly;
        var shipped = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            var name = resource[ResourcePrefix.Length..^".json".Length];
            shipped[name] = reader.ReadToEnd();
        }
        return shipped;
    }

    [GeneratedRegex(@"\$\{([a-z_]+)\}")]
    private static partial Regex Placeholder();
}
