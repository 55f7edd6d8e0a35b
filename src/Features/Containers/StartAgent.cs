using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The operator starts an agent (desired running); 200 with its row once it runs, 409 while another action runs.</summary>
public static class StartAgent
{
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest<AgentRow>;

    internal sealed class Handler(Supervisor supervisor, AgentRegistry registry, AgentRows rows, HivePaths paths) : IRequestHandler<Command, AgentRow>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            await supervisor.StartAsync(AgentName.Checked(command.Name), command.RequestedBy, cancellationToken);
            return await CreateAgent.ViewAsync(registry, rows, paths, command.Name, cancellationToken);
        }
    }
}
