using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The operator destroys an agent: its process is stopped, its socket closed and removed, its row leaves the registry,
/// and its state dir stays as a tombstone (purge deletes it; spawning the name again reuses it). Messages to it are then
/// refused as to an unknown agent, and its pending reminders fail with a clear <c>last_error</c>.
/// </summary>
public static class DestroyAgent
{
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest;

    internal sealed class Handler(Supervisor supervisor) : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            await supervisor.DestroyAsync(AgentName.Checked(command.Name), command.RequestedBy, cancellationToken);
            return Unit.Value;
        }
    }
}
