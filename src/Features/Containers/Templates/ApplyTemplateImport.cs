using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers.Templates;

/// <summary>
/// An approved <c>template_import</c>, in the decision's own unit of work: every agent of the plan written into the
/// registry at once (parents first, desired running, each row keeping its preset and the template's name and hash), so a
/// crash leaves all of the team or none of it. Their processes start once it commits (or at the next start, like every
/// agent desired running). What changed since the plan was shown (a name taken, a secret deleted) refuses the approval.
/// </summary>
internal static class ApplyTemplateImport
{
    public sealed record Command(long ApprovalId, string Payload) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, AgentRegistry registry, SecretStore secrets, BackgroundRequests background, TimeProvider clock)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var plan = JsonSerializer.Deserialize<ImportTemplate.Payload>(command.Payload, HiveJson.Options)!;
            var names = plan.Agents.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var agent in plan.Agents)
            {
                if (registry.Find(agent.Name) is not null) throw new ConflictException($"an agent named {agent.Name} exists now: deny this request");
                if (secrets.MissingOf(agent.Config.Secrets) is { } missing)
                    throw new ConflictException($"{agent.Name} needs the secret{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing)}, gone since: set it, or deny this request");
                if (agent.Config.Parent is { } parent && !names.Contains(parent) && registry.Find(parent) is null)
                    throw new ConflictException($"{agent.Name}'s parent {parent} is gone: deny this request");
                var record = AgentRecord.FromConfig(agent.Name, agent.Config, clock.GetUtcNow());
                (record.Preset, record.Template, record.TemplateHash) = (agent.Preset, plan.Template, plan.Hash);
                await mediator.Send(new RegisterAgent.Command(record, AgentNames.Operator), cancellationToken);
            }
            change.Execute("UPDATE approvals SET applied_at = @now WHERE id = @id", new { id = command.ApprovalId, now = clock.GetUtcNow() });
            change.AfterPublished(() =>
            {
                foreach (var agent in plan.Agents)
                    background.Send("the imported agent's start", m => m.Send(new StartAgent.AfterSpawn(agent.Name, AgentNames.Operator)));
            });
            return Unit.Value;
        }
    }
}
