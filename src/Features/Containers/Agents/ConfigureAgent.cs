using FluentValidation;
using Hive.Contracts.Agents;
using Hive.Features.Containers.Presets;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The operator gives an agent a whole new configuration (<c>PUT /api/agents/{name}/config</c>), or a preset with what goes
/// over it. A dry run only answers the diff against the agent's file in the meta repo. Otherwise a change goes the way a
/// manager's proposal goes, the operator approving it at once: pinned, recorded as an approval (who changed what, and
/// when), committed, and exactly that agent rebuilt; the answer comes once it is. A configuration that changes nothing
/// changes nothing.
/// </summary>
public static class ConfigureAgent
{
    public sealed record Command(string? Name, AgentConfig? Config, string? Preset, bool DryRun) : IRequest<ConfigChange>;

    /// <summary>What the configuration changes (<c>diff</c>: the meta file's unified diff, empty when nothing) and its approval.</summary>
    /// <param name="Restarts">Applying it stops and starts the agent (a change of only its egress rules does not).</param>
    public sealed record ConfigChange(string Name, bool Changed, string Diff, long? ApprovalId, bool Restarts);

    internal sealed class Handler(
        AgentRegistry registry, AgentPresets presets, IValidator<CreateAgent.Command> createRules, DriverCatalog drivers, MetaRepo meta, MetaProposals proposals, IMediator mediator,
        BackgroundRequests background)
        : IRequestHandler<Command, ConfigChange>
    {
        public async Task<ConfigChange> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(command.Name);
            var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            var config = command.Config ?? throw new BadRequestException("the body is the agent's whole new configuration");
            if (command.Preset is { } preset)
            {
                if (config.Command is not null) throw new BadRequestException("give a preset or a command, not both");
                var expanded = await presets.ExpandAsync(preset, name, config.Purpose, config.Env, config.Secrets, config.Mounts, config.Provider ?? config.Providers?.FirstOrDefault());
                config = config with
                {
                    Command = expanded.Command,
                    Env = expanded.Env,
                    Secrets = expanded.Secrets,
                    Mounts = expanded.Mounts,
                    Purpose = expanded.Purpose,
                    Provider = expanded.Provider,
                    Network = NetworkSealing.Default(config.Driver ?? record.Driver, config.Network ?? expanded.Network, fromPreset: true),
                    Egress = config.Egress ?? expanded.Egress,
                    EgressAsk = config.EgressAsk ?? expanded.EgressAsk,
                    Permissions = config.Permissions ?? expanded.Permissions,
                };
            }
            var normalised = await ProposeConfig.CheckedAsync(record, config, createRules, drivers, registry, cancellationToken);
            if (meta.Unavailable is { } why) throw new ConflictException(why);

            var diff = await proposals.PreviewAsync(name, normalised);
            var restarts = diff.Length > 0 && !DeployProposal.AppliesWithoutRestart(record.ToConfig(), normalised with { Driver = normalised.Driver ?? record.Driver });
            if (command.DryRun || diff.Length == 0) return new ConfigChange(name, diff.Length > 0, diff, null, restarts);
            var proposal = await mediator.Send(new ProposeConfig.Command(AgentNames.Operator, name, normalised), cancellationToken);
            await mediator.Send(new ApproveApproval.Command(proposal.Id, "the operator's own change"), cancellationToken);
            // Answered once the agent runs as configured, like a start or a stop.
            await background.Of(DeployProposal.Key(proposal.Id)).WaitAsync(cancellationToken);
            if (await proposals.FateOfAsync(proposal.Id) is ("failed", var reason))
                throw new ConflictException($"the change was recorded (approval {proposal.Id}) but {name} could not be rebuilt with it: {reason}");
            return new ConfigChange(name, true, diff, proposal.Id, restarts);
        }
    }
}
