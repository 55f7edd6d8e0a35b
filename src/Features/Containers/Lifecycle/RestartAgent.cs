using Hive.Shared;
using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The operator (or the manager) restarts an agent: stopped as by <see cref="StopAgent"/>, then started, desired running;
/// a failed agent gets a fresh restart budget. 200 with its row once it runs again, 409 while another action runs.
/// </summary>
public static class RestartAgent
{
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest<AgentRow>;

    internal sealed class Handler(AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, AgentRows rows, HivePaths paths, AgentsStartUp startUp)
        : IRequestHandler<Command, AgentRow>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            // Not before the start-up reconciliation is done: it would take a process started now for one the last life left.
            await startUp.Reconciled.WaitAsync(cancellationToken);
            var name = AgentName.Checked(command.Name);
            steps.Managed(name);
            using (var turn = await turns.TryTakeAsync(name))
            await using (await steps.HoldTransientAsync(name, Transients.Restarting))
            {
                turn.Agent.CancelPendingRestart();
                turn.Agent.RestartTimes.Clear();
                await steps.SetDesiredAsync(name, DesiredStates.Running);
                await processes.StopAsync(name, turn.Agent);
                await processes.StartAsync(name, turn.Agent, cancellationToken);
                await steps.TellManagerAsync(command.RequestedBy, "restarted", $"{name} was restarted by the {command.RequestedBy}");
            }
            return await CreateAgent.ViewAsync(registry, rows, paths, name, cancellationToken);
        }
    }
}
