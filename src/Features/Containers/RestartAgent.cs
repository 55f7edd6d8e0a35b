using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The operator restarts an agent: stopped as by <see cref="StopAgent"/>, then started; a failed agent gets a fresh restart budget.</summary>
public static class RestartAgent
{
    /// <param name="Transient">What the row shows meanwhile: <c>restarting</c>, or <c>rebuilding</c> for the manager's <c>rebuild</c>.</param>
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator, string Transient = Transients.Restarting) : IRequest<AgentRow>;

    internal sealed class Handler(Supervisor supervisor, AgentRegistry registry, AgentRows rows, HivePaths paths) : IRequestHandler<Command, AgentRow>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            await supervisor.RestartAsync(AgentName.Checked(command.Name), command.RequestedBy, command.Transient, cancellationToken);
            return await CreateAgent.ViewAsync(registry, rows, paths, command.Name, cancellationToken);
        }
    }
}
