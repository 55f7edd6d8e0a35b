using System.Text;
using System.Text.Json;
using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Templates;

/// <summary>
/// <c>POST /api/templates/import</c>: a template checked whole (its hash, every file, every agent by the rules of a
/// create), and its plan shown; unless a dry run, one approval (<c>template_import</c>) asks the operator to make all of
/// it, with the plan as its diff. Secrets it needs that this hive lacks are named, never invented: a dry run lists them,
/// an import is refused until they exist. Nothing is made before the approval.
/// </summary>
public static class ImportTemplate
{
    public sealed record Command(IReadOnlyDictionary<string, string>? Files, string? Prefix, bool DryRun) : IRequest<TemplateImportReply>, IChangesState;

    /// <summary>The approval's payload: what is made once approved, exactly as the plan showed it.</summary>
    internal sealed record Payload(string Template, string Hash, IReadOnlyList<TemplatedAgent> Agents, string Diff);

    internal sealed class Handler(StateChanges changes, TemplatePlan plan, SecretStore secrets, TimeProvider clock, IOptions<ApprovalsOptions> approvals)
        : IRequestHandler<Command, TemplateImportReply>
    {
        public async Task<TemplateImportReply> Handle(Command command, CancellationToken cancellationToken)
        {
            var manifest = TemplateBundle.Verify(command.Files);
            var agents = await plan.ResolveAsync(command.Files!, command.Prefix, importing: true, cancellationToken);
            var missing = agents.SelectMany(a => secrets.MissingOf(a.Config.Secrets) ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var diff = Plan(manifest, agents, missing);
            if (command.DryRun) return new TemplateImportReply(manifest.Name, manifest.Hash, agents, missing, diff, null);
            if (missing.Count > 0)
                throw new ConflictException($"the template's agents need the secret{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing)}, " +
                    "which this hive does not have: set them (hivectl secrets set NAME), then import again");
            var payload = JsonSerializer.Serialize(new Payload(manifest.Name, manifest.Hash, agents, diff), HiveJson.Options);
            var approval = Approvals.Insert(changes.Current, ApprovalKinds.TemplateImport, AgentNames.Operator, agents[0].Name, payload, clock,
                approvals.Value.MaxPendingPerRequester);
            return new TemplateImportReply(manifest.Name, manifest.Hash, agents, missing, diff, approval.Id);
        }

        /// <summary>What would be made, as a diff against nothing: each agent's configuration, every line added.</summary>
        private static string Plan(TemplateManifest manifest, IReadOnlyList<TemplatedAgent> agents, IReadOnlyList<string> missing)
        {
            var text = new StringBuilder($"template {manifest.Name} ({manifest.Hash}): {agents.Count} agent{(agents.Count == 1 ? "" : "s")}\n");
            if (manifest.Secrets.Count > 0)
                text.Append($"secrets needed: {string.Join(", ", manifest.Secrets)}{(missing.Count > 0 ? $" (missing here: {string.Join(", ", missing)})" : "")}\n");
            foreach (var agent in agents)
            {
                text.Append($"+++ {agent.Name}{(agent.Preset is { } preset ? $" (preset {preset})" : "")}{(agent.Config.Parent is { } parent ? $", under {parent}" : "")}\n");
                foreach (var line in JsonSerializer.Serialize(agent.Config, Indented).Split('\n')) text.Append('+').Append(line).Append('\n');
            }
            return text.ToString();
        }

        private static readonly JsonSerializerOptions Indented = new(HiveJson.Options) { WriteIndented = true };
    }
}
