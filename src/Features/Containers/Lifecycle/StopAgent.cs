using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The operator (or the manager) stops an agent: desired stopped, a pending restart cancelled, SIGTERM, then SIGKILL to its
/// group after the grace period; 200 with its row once it is stopped, 409 while another action runs.
/// </summary>
public static class StopAgent
{
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest<AgentRow>;

    internal sealed class Handler(AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, AgentRows rows, HivePaths paths)
        : IRequestHandler<Command, AgentRow>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(command.Name);
            var record = steps.Managed(name);
            using (var turn = await turns.TryTakeAsync(name))
            await using (await steps.HoldTransientAsync(name, Transients.Stopping))
            {
                turn.Agent.CancelPendingRestart();
                await steps.SetDesiredAsync(name, DesiredStates.Stopped, AgentSteps.InterventionOf(command.RequestedBy, InterventionActions.Stop, record));
                await processes.StopAsync(name, turn.Agent);
                await steps.TellManagerAsync(command.RequestedBy, "stopped", $"{name} was stopped by the {command.RequestedBy}");
            }
            return await CreateAgent.ViewAsync(registry, rows, paths, name, cancellationToken);
        }
    }
}
