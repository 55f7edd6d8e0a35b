using System.Text.RegularExpressions;
using FluentValidation;
using Hive.Contracts.Agents;
using Hive.Features.Containers.Presets;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Errors;

namespace Hive.Features.Containers.Templates;

/// <summary>
/// A template's agents as they would be made in this hive: named with the prefix (parent links and allowed recipients
/// within the template follow), made again from their presets (the template's own copy first, else this hive's), and
/// checked whole by the rules of a create, so the operator is never asked to approve what cannot run. The one place a
/// template's entry becomes a configuration, for an import and for a diff alike.
/// </summary>
internal sealed partial class TemplatePlan(AgentRegistry registry, AgentPresets presets, DriverCatalog drivers, IValidator<CreateAgent.Command> createRules, TimeProvider clock)
{
    [GeneratedRegex("^[a-z][a-z0-9-]{0,15}$")]
    private static partial Regex Prefix();

    /// <summary>
    /// Each agent, parents first, with its whole configuration as its row would hold it. <paramref name="importing"/>: a
    /// name taken here is a 409 (a diff compares against exactly those agents instead).
    /// </summary>
    public async Task<List<TemplatedAgent>> ResolveAsync(IReadOnlyDictionary<string, string> files, string? prefix, bool importing, CancellationToken ct)
    {
        prefix = string.IsNullOrEmpty(prefix) ? "" : Prefix().IsMatch(prefix) ? prefix
            : throw new BadRequestException("prefix must be 1 to 16 of a-z, 0-9 and -, starting with a letter (it goes in front of every agent's name)");
        var swarm = TemplateSwarm.Parse(files[TemplateBundle.SwarmFile]);
        var renamed = swarm.Agents.ToDictionary(a => a.Name, a => prefix + a.Name, StringComparer.Ordinal);
        var planned = new List<TemplatedAgent>();
        foreach (var entry in ParentsFirst(swarm.Agents))
        {
            var name = renamed[entry.Name];
            try
            {
                var parent = entry.Parent is { } p ? renamed.GetValueOrDefault(p, p) : null;
                if (parent == AgentNames.Manager) parent = null;
                if (parent is not null && !renamed.ContainsValue(parent) && AgentTree.ParentProblem(registry, name, parent) is { } problem)
                    throw new BadRequestException(problem);
                if (importing && registry.Find(name) is not null)
                    throw new ConflictException($"there is already an agent named {name} here: import with another prefix");
                var config = await ConfigOfAsync(entry, name, parent, renamed, files, ct);
                planned.Add(new TemplatedAgent(name, entry.Preset, AgentRecord.FromConfig(name, config, clock.GetUtcNow()).ToConfig()));
            }
            catch (HiveException e) when (!e.Message.StartsWith(name, StringComparison.Ordinal))
            {
                throw e switch
                {
                    ConflictException => new ConflictException($"{name}: {e.Message}"),
                    NotFoundException or BadRequestException => new BadRequestException($"{name}: {e.Message}"),
                    _ => e,
                };
            }
        }
        return planned;
    }

    private async Task<AgentConfig> ConfigOfAsync(
        TemplateEntry entry, string name, string? parent, Dictionary<string, string> renamed, IReadOnlyDictionary<string, string> files, CancellationToken ct)
    {
        var (argv, env, secrets, mounts, purpose, provider) = (entry.Command, entry.Env, entry.Secrets, entry.Mounts, entry.Purpose, entry.Provider);
        var (network, egress, egressAsk, permissions) = (entry.Network, entry.Egress, entry.EgressAsk, entry.Permissions);
        if (entry.Preset is { } preset)
        {
            if (argv is not null) throw new BadRequestException("give a preset or a command, not both");
            var text = files.GetValueOrDefault(TemplateBundle.PresetPath(preset)) ?? await presets.TextOfAsync(preset)
                ?? throw new BadRequestException($"unknown preset {preset}: neither the template's presets/ nor this hive has it (GET /api/presets lists this hive's)");
            var expanded = presets.Expand(preset, text, name, purpose, env, secrets, mounts, provider ?? entry.Providers?.FirstOrDefault());
            (argv, env, secrets, mounts, purpose, provider) = (expanded.Command, expanded.Env, expanded.Secrets, expanded.Mounts, expanded.Purpose, expanded.Provider);
            (network, egress, egressAsk, permissions) = (network ?? expanded.Network, egress ?? expanded.Egress, egressAsk ?? expanded.EgressAsk, permissions ?? expanded.Permissions);
        }
        var driverName = entry.Driver ?? drivers.Default;
        if (driverName == DriverCatalog.External) throw new BadRequestException("an external agent is run outside the hive: a template carries only agents the hive runs");
        network = NetworkSealing.Default(driverName, network, fromPreset: entry.Preset is not null);
        var allowed = entry.AllowedRecipients?.Select(n => renamed.GetValueOrDefault(n, n)).ToList();
        var create = new CreateAgent.Command(name, argv, driverName, purpose, env, entry.Restart, mounts, Inputs: entry.Inputs, AllowedRecipients: allowed,
            Secrets: secrets, Provider: provider, Limits: entry.Limits, Capabilities: entry.Capabilities, Network: network, Egress: egress, EgressAsk: egressAsk,
            Permissions: permissions, Parent: parent, MaySpawn: entry.MaySpawn, Providers: entry.Providers, Models: entry.Models);
        var problems = (await createRules.ValidateAsync(create, ct)).Errors;
        if (problems.Count > 0) throw new BadRequestException(string.Join("; ", problems.Select(p => p.ErrorMessage)));
        var driver = drivers.Find(driverName) ?? throw new BadRequestException($"the {driverName} driver does not exist here");
        if (driver.Unavailable is { } unavailable) throw new BadRequestException($"the {driverName} driver cannot run agents here: {unavailable}");
        var trimmed = (mounts ?? []).Select(m => m.TrimEnd('/')).ToList();
        if (driver.ProblemWith(name, argv!, trimmed) is { } problem) throw new BadRequestException(problem);
        return new AgentConfig(argv, driverName, env, purpose, entry.Restart, trimmed, entry.Inputs, allowed, secrets, provider, entry.Limits,
            entry.Capabilities, network, egress, egressAsk, permissions, parent, entry.MaySpawn, entry.Providers, entry.Models);
    }

    /// <summary>Parents before children; a cycle among the template's parent links is refused, naming it.</summary>
    private static List<TemplateEntry> ParentsFirst(IReadOnlyList<TemplateEntry> entries)
    {
        var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var ordered = new List<TemplateEntry>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var chain = new List<string>();
            for (var at = entry; at is not null && !placed.Contains(at.Name); at = at.Parent is { } p ? byName.GetValueOrDefault(p) : null)
            {
                if (chain.Contains(at.Name))
                    throw new BadRequestException($"{TemplateBundle.SwarmFile}: parent links make a cycle ({string.Join(" → ", chain.SkipWhile(n => n != at.Name).Append(at.Name))})");
                chain.Add(at.Name);
            }
            for (var i = chain.Count - 1; i >= 0; i--)
                if (placed.Add(chain[i])) ordered.Add(byName[chain[i]]);
        }
        return ordered;
    }
}
