using Hive.Shared;
using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The manager's <c>rebuild</c> (no approval: it changes no configuration): the agent restarts on its file in the meta
/// repo as it is now (transient <c>rebuilding</c>). A file that cannot be used is refused (409), shown on the agent's row
/// as <c>config_error</c>, and the agent keeps running as it was.
/// </summary>
public static class RebuildAgent
{
    public sealed record Command(string Name) : IRequest<AgentRow>;

    internal sealed class Handler(Supervisor supervisor, AgentRegistry registry, AgentRows rows, HivePaths paths) : IRequestHandler<Command, AgentRow>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            await supervisor.RebuildNowAsync(AgentName.Checked(command.Name));
            return await CreateAgent.ViewAsync(registry, rows, paths, command.Name, cancellationToken);
        }
    }
}
