using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hive.Contracts.Agents;
using Hive.Contracts.Json;
using Hive.Shared.Errors;
using Hive.Shared.Json;

namespace Hive.Features.Containers.Templates;

/// <summary>
/// A template's files and its manifest: what may be in one (<c>manifest.json</c>, <c>swarm.json</c>, <c>presets/NAME.json</c>),
/// each file's SHA-256, and the template's hash over them. The one place a template is sealed and checked: a file changed,
/// added or missing after export is refused by its name.
/// </summary>
internal static partial class TemplateBundle
{
    public const string ManifestFile = "manifest.json";
    public const string SwarmFile = "swarm.json";
    public const int MaxFiles = 64;
    public const int MaxBytes = 1024 * 1024;

    [GeneratedRegex("^(swarm\\.json|presets/[a-z][a-z0-9-]{0,30}\\.json)$")]
    private static partial Regex ContentPath();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex TemplateName();

    public static string PresetPath(string preset) => $"presets/{preset}.json";

    /// <summary>The manifest over <paramref name="files"/> (every file but the manifest itself).</summary>
    public static TemplateManifest Seal(string name, IReadOnlyDictionary<string, string> files, IReadOnlyList<string> secrets)
    {
        if (!TemplateName().IsMatch(name)) throw new BadRequestException($"a template's name must match {TemplateName()}");
        var sums = new SortedDictionary<string, string>(files.ToDictionary(f => f.Key, f => Sha(f.Value)), StringComparer.Ordinal);
        return new TemplateManifest(TemplateManifest.CurrentFormat, name, sums, secrets, HashOf(sums));
    }

    public static string ManifestText(TemplateManifest manifest) => JsonSerializer.Serialize(manifest, Indented) + "\n";

    /// <summary>The manifest of <paramref name="files"/> once every file is what it says; else a 400 naming the file.</summary>
    public static TemplateManifest Verify(IReadOnlyDictionary<string, string>? files)
    {
        if (files is not { Count: > 0 }) throw new BadRequestException("files is required: the template directory's files by path (manifest.json, swarm.json, presets/)");
        if (files.Count > MaxFiles) throw new BadRequestException($"a template has at most {MaxFiles} files");
        if (files.Sum(f => Encoding.UTF8.GetByteCount(f.Value)) > MaxBytes)
            throw new TooLargeException($"a template is at most {MaxBytes / 1024} KiB");
        if (!files.TryGetValue(ManifestFile, out var manifestText)) throw new BadRequestException($"the template has no {ManifestFile}");
        TemplateManifest? manifest;
        try
        {
            using var document = JsonDocument.Parse(manifestText, StrictJson.DocumentOptions);
            manifest = document.Deserialize<TemplateManifest>(HiveJson.Options);
        }
        catch (JsonException e)
        {
            throw new BadRequestException($"{ManifestFile} is not a template manifest: {StrictJson.Reason(e)}");
        }
        if (manifest is not { Format: TemplateManifest.CurrentFormat, Name: { } name, Files: { } sums, Hash: { } })
            throw new BadRequestException($"{ManifestFile} is not a template manifest of format {TemplateManifest.CurrentFormat}");
        if (!TemplateName().IsMatch(name)) throw new BadRequestException($"{ManifestFile}: the template's name must match {TemplateName()}");
        foreach (var path in files.Keys.Where(p => p != ManifestFile))
        {
            if (!ContentPath().IsMatch(path)) throw new BadRequestException($"{path}: a template holds only swarm.json and presets/NAME.json");
            if (!sums.ContainsKey(path)) throw new BadRequestException($"{path} is not in {ManifestFile}: added after the template was made");
        }
        foreach (var (path, sum) in sums)
        {
            if (!files.TryGetValue(path, out var text)) throw new BadRequestException($"{path} is listed in {ManifestFile} but missing");
            if (Sha(text) != sum) throw new BadRequestException($"{path} does not match its hash in {ManifestFile}: it changed after the template was made");
        }
        if (HashOf(sums) != manifest.Hash) throw new BadRequestException($"{ManifestFile} does not match its own hash: it changed after the template was made");
        if (!files.ContainsKey(SwarmFile)) throw new BadRequestException($"the template has no {SwarmFile}");
        return manifest with { Secrets = manifest.Secrets ?? [] };
    }

    private static readonly JsonSerializerOptions Indented = new(HiveJson.Options) { WriteIndented = true };

    private static string Sha(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string HashOf(IEnumerable<KeyValuePair<string, string>> sums) =>
        Sha(string.Concat(sums.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} {s.Value}\n")));
}
