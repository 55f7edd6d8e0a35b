using Hive.Shared;
using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The operator (or the manager) starts an agent: desired running, a failed agent's restart budget renewed, its process
/// started unless it runs; 200 with its row once it runs, 409 while another action runs. <see cref="AfterSpawn"/> is
/// the start of an approved spawn, sent once its decision has committed (it waits its turn).
/// </summary>
public static class StartAgent
{
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest<AgentRow>;

    internal sealed record AfterSpawn(string Name, string SpawnedBy) : IRequest;

    internal sealed class Handler(AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, AgentRows rows, HivePaths paths, AgentsStartUp startUp,
        Presets.AgentPresets presets, Hive.Shared.Gateway.IAgentGateways gateways)
        : IRequestHandler<Command, AgentRow>, IRequestHandler<AfterSpawn>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            // Not before the start-up reconciliation is done: it would take a process started now for one the last life left.
            await startUp.Reconciled.WaitAsync(cancellationToken);
            var name = AgentName.Checked(command.Name);
            steps.Managed(name);
            // Its preset's need against its provider's server as they are now: either may have changed since it was made.
            if (registry.Find(name) is { Preset: { } preset } record && await presets.ContextOfAsync(preset) is { } needs)
                foreach (var provider in record.Chain)
                    if (gateways.ContextProblem(provider, needs) is { } tooSmall) throw new Hive.Shared.Errors.BadRequestException($"{name}: {tooSmall}");
            using (var turn = await turns.TryTakeAsync(name))
            await using (await steps.HoldTransientAsync(name, Transients.Starting))
            {
                turn.Agent.CancelPendingRestart();
                turn.Agent.RestartTimes.Clear(); // the operator stepped in: a failed agent gets a fresh budget
                await steps.SetDesiredAsync(name, DesiredStates.Running);
                if (turn.Agent.Running is not { Exited.IsCompleted: false })
                {
                    await processes.StartAsync(name, turn.Agent, cancellationToken, Transients.Starting);
                    await steps.TellManagerAsync(command.RequestedBy, "started", $"{name} was started by the {command.RequestedBy}");
                }
            }
            return await CreateAgent.ViewAsync(registry, rows, paths, name, cancellationToken);
        }

        public async Task<Unit> Handle(AfterSpawn command, CancellationToken cancellationToken)
        {
            var name = command.Name;
            using var turn = await turns.WaitAsync(name, cancellationToken);
            if (registry.Find(name) is { IsExternal: false } record)
                await steps.RecordInMetaAsync(name, record.ToConfig(), $"{name}: spawned, as the {command.SpawnedBy} asked and the operator approved");
            if (turns.HostStopping || turn.Agent.Running is not null || registry.Find(name) is not { Desired: DesiredStates.Running, IsExternal: false })
                return Unit.Value;
            await using (await steps.HoldTransientAsync(name, Transients.Starting))
                await processes.StartAsync(name, turn.Agent, CancellationToken.None, Transients.Starting);
            return Unit.Value;
        }
    }
}
