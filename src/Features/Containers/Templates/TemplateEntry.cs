using System.Text.Json;
using System.Text.Json.Serialization;
using Hive.Contracts.Agents;
using Hive.Contracts.Json;
using Hive.Shared.Errors;
using Hive.Shared.Json;

namespace Hive.Features.Containers.Templates;

/// <summary>
/// One agent in a template's <c>swarm.json</c>: the fields of a <c>hivectl up</c> entry, so the file also works with
/// <c>up -f</c>. An agent made from a preset is written as the preset and what it set beyond it, and made again from the
/// preset on import (its prompt then names its new name); one whose command no longer is the preset's carries the command.
/// <c>secrets</c> maps variables to secret names, never values.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record TemplateEntry(
    string Name, string? Preset = null, IReadOnlyList<string>? Command = null, string? Driver = null, string? Purpose = null,
    IReadOnlyDictionary<string, string>? Env = null, IReadOnlyDictionary<string, string>? Secrets = null, IReadOnlyList<string>? Mounts = null,
    string? Restart = null, IReadOnlyList<string>? Inputs = null, IReadOnlyList<string>? AllowedRecipients = null, string? Provider = null,
    AgentLimits? Limits = null, IReadOnlyList<string>? Capabilities = null, string? Network = null, IReadOnlyList<string>? Egress = null,
    bool? EgressAsk = null, AgentPermissions? Permissions = null, string? Parent = null, AgentSpawnLimits? MaySpawn = null,
    IReadOnlyList<string>? Providers = null, IReadOnlyDictionary<string, string>? Models = null);

/// <summary><c>swarm.json</c>: <c>{"agents": [...]}</c>, parents before their children.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record TemplateSwarm(IReadOnlyList<TemplateEntry> Agents)
{
    private static readonly JsonSerializerOptions Written = new(HiveJson.Options)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Text() => JsonSerializer.Serialize(this, Written) + "\n";

    public static TemplateSwarm Parse(string text)
    {
        TemplateSwarm? swarm;
        try
        {
            using var document = JsonDocument.Parse(text, StrictJson.DocumentOptions);
            swarm = document.Deserialize<TemplateSwarm>(HiveJson.Options);
        }
        catch (JsonException e)
        {
            throw new BadRequestException($"{TemplateBundle.SwarmFile}: {(e.Path is { } path ? $"at {path}: " : "")}{Reason(e)}");
        }
        if (swarm?.Agents is not { Count: > 0 } agents) throw new BadRequestException($"{TemplateBundle.SwarmFile} lists no agents");
        if (agents.Count > AgentSpawnLimits.MaxChildren) throw new BadRequestException($"{TemplateBundle.SwarmFile}: a template has at most {AgentSpawnLimits.MaxChildren} agents");
        var twice = agents.GroupBy(a => a.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new BadRequestException($"{TemplateBundle.SwarmFile}: {twice.Key} is listed twice");
        return swarm;
    }

    // The parser's own message for an unknown field names it and quotes nothing of the input; others say where.
    private static string Reason(JsonException e) =>
        e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? e.Message.Split(". Path")[0] : StrictJson.Reason(e);
}
