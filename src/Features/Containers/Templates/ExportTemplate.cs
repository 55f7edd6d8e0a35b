using Hive.Contracts.Agents;
using Hive.Features.Containers.Presets;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers.Templates;

/// <summary>
/// <c>GET /api/templates/export</c>: an agent, its subtree, or the whole swarm (every agent the hive runs but the manager)
/// as a template's files: <c>swarm.json</c> (each agent's configuration, parent links within the template, secret names),
/// the preset files they were made from, and the manifest sealing them. Nothing here is a secret's value: the
/// configuration never holds one.
/// </summary>
public static class ExportTemplate
{
    public sealed record Query(string? Agent, bool Subtree, bool Swarm, string? Name) : IRequest<TemplateFiles>;

    internal sealed class Handler(AgentRegistry registry, AgentPresets presets) : IRequestHandler<Query, TemplateFiles>
    {
        public async Task<TemplateFiles> Handle(Query query, CancellationToken cancellationToken)
        {
            var agents = Chosen(query);
            var inTemplate = agents.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
            var files = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<TemplateEntry>();
            foreach (var agent in agents)
            {
                var entry = await EntryAsync(agent, inTemplate);
                if (entry.Preset is { } preset) files[TemplateBundle.PresetPath(preset)] = (await presets.TextOfAsync(preset))!;
                entries.Add(entry);
            }
            files[TemplateBundle.SwarmFile] = new TemplateSwarm(entries).Text();
            var secrets = agents.SelectMany(a => a.Secrets?.Values ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var name = query.Name ?? (query.Swarm ? "swarm" : agents[0].Name);
            files[TemplateBundle.ManifestFile] = TemplateBundle.ManifestText(TemplateBundle.Seal(name, files, secrets));
            return new TemplateFiles(files);
        }

        /// <summary>The agents to export, parents before children.</summary>
        private List<AgentRecord> Chosen(Query query)
        {
            if (query.Swarm)
            {
                if (query.Agent is not null) throw new BadRequestException("give an agent or swarm=true, not both");
                var all = registry.All().Where(a => !a.IsExternal && a.Name != AgentNames.Manager).ToList();
                if (all.Count == 0) throw new ConflictException("the hive runs no agents but the manager: there is nothing to export");
                return ParentsFirst(all);
            }
            var name = AgentName.Checked(query.Agent);
            var root = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            if (root.IsExternal) throw new ConflictException($"{name} is an external agent: it has no configuration here to export");
            if (name == AgentNames.Manager) throw new BadRequestException("the manager is the hive's own: export the agents under it, or swarm=true");
            var chosen = query.Subtree ? AgentTree.SubtreeOf(registry, name).Reverse().Prepend(root).Where(a => !a.IsExternal).ToList() : [root];
            return ParentsFirst(chosen);
        }

        private static List<AgentRecord> ParentsFirst(List<AgentRecord> agents)
        {
            var names = agents.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
            var parents = agents.ToDictionary(a => a.Name, a => a.Parent is { } p && names.Contains(p) ? p : null, StringComparer.Ordinal);
            int Depth(string name) => parents[name] is { } p ? 1 + Depth(p) : 0; // the registry's links have no cycle
            return agents.OrderBy(a => Depth(a.Name)).ThenBy(a => a.Name, StringComparer.Ordinal).ToList();
        }

        private async Task<TemplateEntry> EntryAsync(AgentRecord agent, HashSet<string> inTemplate)
        {
            var config = agent.ToConfig();
            var entry = new TemplateEntry(
                agent.Name, null, config.Command, config.Driver, config.Purpose, Empty(config.Env), Empty(config.Secrets), Empty(config.Mounts),
                config.Restart == RestartPolicies.OnFailure ? null : config.Restart, Empty(config.Inputs), config.AllowedRecipients, config.Provider,
                config.Limits, Empty(config.Capabilities), config.Network, config.Egress, config.EgressAsk, config.Permissions,
                config.Parent is { } parent && inTemplate.Contains(parent) ? parent : null, config.MaySpawn, config.Providers, config.Models);
            return await AsPresetAsync(agent, entry) ?? entry;
        }

        /// <summary>
        /// The entry as its preset and what it set beyond it, when making it again from the preset gives exactly its
        /// command, env, secrets and mounts; null when it no longer is the preset's (a changed command), or has none.
        /// </summary>
        private async Task<TemplateEntry?> AsPresetAsync(AgentRecord agent, TemplateEntry entry)
        {
            if (agent.Preset is not { } preset || await presets.TextOfAsync(preset) is not { } text) return null;
            try
            {
                var bare = presets.Expand(preset, text, agent.Name, agent.Purpose, null, null, null, null);
                var env = Beyond(agent.Env, bare.Env);
                var secrets = Beyond(agent.Secrets ?? JsonMap.Empty, bare.Secrets ?? new Dictionary<string, string>());
                var mounts = agent.Mounts.Except(bare.Mounts, StringComparer.Ordinal).ToList();
                var again = presets.Expand(preset, text, agent.Name, agent.Purpose, env, secrets, mounts, agent.Provider);
                var same = again.Command.SequenceEqual(agent.Argv, StringComparer.Ordinal) && Same(again.Env, agent.Env)
                    && Same(again.Secrets ?? new Dictionary<string, string>(), agent.Secrets ?? JsonMap.Empty)
                    && again.Mounts.Order(StringComparer.Ordinal).SequenceEqual(agent.Mounts.Order(StringComparer.Ordinal), StringComparer.Ordinal);
                return same ? entry with { Preset = preset, Command = null, Env = Empty(env), Secrets = Empty(secrets), Mounts = Empty(mounts) } : null;
            }
            catch (HiveException)
            {
                return null; // the preset cannot be expanded here now (its program gone): the command as it is
            }
        }

        private static Dictionary<string, string> Beyond(IReadOnlyDictionary<string, string> all, IReadOnlyDictionary<string, string> preset) =>
            all.Where(v => !preset.TryGetValue(v.Key, out var p) || p != v.Value).ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);

        private static bool Same(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
            a.Count == b.Count && a.All(v => b.TryGetValue(v.Key, out var w) && w == v.Value);

        private static IReadOnlyDictionary<string, string>? Empty(IReadOnlyDictionary<string, string>? map) => map is { Count: > 0 } ? map : null;

        private static IReadOnlyList<string>? Empty(IReadOnlyList<string>? list) => list is { Count: > 0 } ? list : null;
    }
}
