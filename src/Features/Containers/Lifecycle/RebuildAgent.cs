using Hive.Contracts.Agents;
using Hive.Shared;
using Hive.Shared.Agents;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// The manager's <c>rebuild</c> (no approval: it changes no configuration): the agent restarts on its file in the meta
/// repo as it is now (transient <c>rebuilding</c>). A file that cannot be used is refused (409), shown on the agent's row
/// as <c>config_error</c>, and the agent keeps running as it was. <see cref="ForInputs"/> is the same rebuild after a meta
/// update changed one of its inputs: it waits its turn, and answers false for an agent that is not managed and meant to run.
/// </summary>
public static class RebuildAgent
{
    public sealed record Command(string Name) : IRequest<AgentRow>;

    internal sealed record ForInputs(string Name, string Why) : IRequest<bool>;

    internal sealed class Handler(
        AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, AgentRows rows, HivePaths paths, MetaRepo meta,
        ConfigProblems problems, ILogger<Handler> logger, AgentsStartUp startUp)
        : IRequestHandler<Command, AgentRow>, IRequestHandler<ForInputs, bool>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            // Not before the start-up reconciliation is done: it would take a process started now for one the last life left.
            await startUp.Reconciled.WaitAsync(cancellationToken);
            var name = AgentName.Checked(command.Name);
            steps.Managed(name);
            using (var turn = await turns.TryTakeAsync(name))
                await RebuildAsync(name, turn.Agent);
            return await CreateAgent.ViewAsync(registry, rows, paths, name, cancellationToken);
        }

        public async Task<bool> Handle(ForInputs command, CancellationToken cancellationToken)
        {
            if (registry.Find(command.Name) is not { IsExternal: false, Desired: DesiredStates.Running }) return false;
            using (var turn = await turns.WaitAsync(command.Name, cancellationToken))
                await RebuildAsync(command.Name, turn.Agent);
            logger.LogInformation("containers: rebuilt {Agent}: {Why}", command.Name, command.Why);
            return true;
        }

        /// <summary>
        /// Reads the agent's meta file first: one that cannot be used is shown on the row and refused, and the agent keeps
        /// running as it was. Then stop, apply, start, with the transient <c>rebuilding</c>.
        /// </summary>
        private async Task RebuildAsync(string name, AgentHold hold)
        {
            AgentConfig? config;
            try
            {
                config = await meta.ReadAgentAsync(name);
            }
            catch (MetaFileException e)
            {
                if (problems.Set(name, e.Message)) await steps.ShowRowAsync(name);
                throw;
            }
            if (problems.Set(name, null)) await steps.ShowRowAsync(name);
            await using (await steps.HoldTransientAsync(name, Transients.Rebuilding))
            {
                hold.CancelPendingRestart();
                await processes.StopAsync(name, hold);
                if (config is not null) await steps.ApplyConfigAsync(name, config with { Driver = config.Driver ?? registry.Find(name)?.Driver });
                await processes.StartAsync(name, hold, CancellationToken.None);
            }
        }
    }
}
