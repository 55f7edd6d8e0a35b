using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The operator stops an agent (desired stopped): SIGTERM, then SIGKILL to its group after the grace period.</summary>
public static class StopAgent
{
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest<AgentRow>;

    internal sealed class Handler(Supervisor supervisor, AgentRegistry registry, AgentRows rows, HivePaths paths) : IRequestHandler<Command, AgentRow>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            await supervisor.StopAsync(AgentName.Checked(command.Name), command.RequestedBy, cancellationToken);
            return await CreateAgent.ViewAsync(registry, rows, paths, command.Name, cancellationToken);
        }
    }
}
