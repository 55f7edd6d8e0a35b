using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The operator restarts an agent: stopped as by <see cref="StopAgent"/>, then started; a failed agent gets a fresh restart budget.</summary>
public static class RestartAgent
{
        public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest<AgentRow>;

    internal sealed class Handler(Supervisor supervisor, AgentRegistry registry, AgentRows rows, HivePaths paths) : IRequestHandler<Command, AgentRow>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            await supervisor.RestartAsync(AgentName.Checked(command.Name), command.RequestedBy, cancellationToken);
            return await CreateAgent.ViewAsync(registry, rows, paths, command.Name, cancellationToken);
        }
    }
}
