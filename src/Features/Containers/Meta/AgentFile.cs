using System.Text.Json;
using Hive.Contracts.Agents;
using Hive.Contracts.Json;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Json;
using Hive.Shared.Permissions;

namespace Hive.Features.Containers;

/// <summary>An agent's file in the meta repo (<c>agents/&lt;name&gt;.json</c>): where it is, and its text form, written and read.</summary>
internal static class AgentFile
{
    public static readonly JsonSerializerOptions Indented = new(HiveJson.Options) { WriteIndented = true };

    public static string PathOf(string agent) => $"agents/{agent}.json";

    public static string Serialize(AgentConfig config) => JsonSerializer.Serialize(config, Indented) + "\n";

    /// <summary>The configuration in <paramref name="text"/>; <see cref="MetaFileException"/> when it is not valid.</summary>
    public static AgentConfig Parse(string agent, string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text, StrictJson.DocumentOptions);
            var config = document.Deserialize<AgentConfig>(HiveJson.Options) ?? throw new MetaFileException($"{PathOf(agent)} is not a JSON object");
            // A hand edit must not put a name on the row that quotas and caps are then counted under.
            if (config.Provider is { } provider && !Providers.IsWellFormed(provider))
                throw new MetaFileException($"{PathOf(agent)}: provider must match {Providers.Pattern}");
            // Nor caps the kernel would refuse, or that would starve it.
            if (config.Limits?.Problem is { } limits) throw new MetaFileException($"{PathOf(agent)}: {limits}");
            // Nor capabilities no one could search for.
            if (Capabilities.Problem(config.Capabilities) is { } capabilities) throw new MetaFileException($"{PathOf(agent)}: {capabilities}");
            // Nor a network no driver knows, or egress rules the proxy could not read.
            if (config.Network is { } network && !Hive.Shared.Egress.NetworkModes.IsKnown(network))
                throw new MetaFileException($"{PathOf(agent)}: network must be {Hive.Shared.Egress.NetworkModes.Sealed} or {Hive.Shared.Egress.NetworkModes.Open}");
            if (Hive.Shared.Egress.EgressRule.ProblemWith(config.Egress) is { } egress) throw new MetaFileException($"{PathOf(agent)}: {egress}");
            if (PermissionRules.ProblemWith(config.Permissions) is { } permissions) throw new MetaFileException($"{PathOf(agent)}: {permissions}");
            // Nor a parent that is no agent's name, or spawn limits the host would not grant.
            if (config.Parent is { } parent && (!AgentNames.IsWellFormed(parent) || parent == agent))
                throw new MetaFileException($"{PathOf(agent)}: parent must be another agent's name");
            if (config.MaySpawn?.Problem is { } maySpawn) throw new MetaFileException($"{PathOf(agent)}: {maySpawn}");
            if (ProviderChains.Problem(config.Provider, config.Providers, config.Models) is { } chain) throw new MetaFileException($"{PathOf(agent)}: {chain}");
            return config with { Limits = config.Limits?.OrNull, Capabilities = Capabilities.InFile(config.Capabilities), EgressAsk = config.EgressAsk == true ? true : null };
        }
        catch (JsonException e)
        {
            throw new MetaFileException($"{PathOf(agent)} in the meta repo is not a valid configuration: {e.Message}");
        }
    }
}
