using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// A new agent written into the registry and the live directory (its socket opens once the change commits), consuming a
/// tombstone of its name, the manager told. Joins the sender's change (an operator's create, an approval's decision);
/// answers whether a tombstone was consumed.
/// </summary>
internal static class RegisterAgent
{
    public sealed record Command(AgentRecord Record, string RequestedBy) : IRequest<bool>, IChangesState;

    internal sealed class Handler(StateChanges changes, AgentRegistry registry, AgentDirectory directory, AllowedRecipients allowed, IMediator mediator)
        : IRequestHandler<Command, bool>
    {
        public async Task<bool> Handle(Command command, CancellationToken cancellationToken)
        {
            var record = command.Record;
            var change = changes.Current;
            if (registry.Find(record.Name) is not null) throw new ConflictException($"there is already an agent named {record.Name}");
            var consumed = change.Execute("DELETE FROM tombstones WHERE name = @Name", record) > 0;
            change.Execute(AgentRegistry.Insert, record);
            allowed.Set(record.Name, record.AllowedRecipients, record.Parent); // before its socket opens; a rolled-back name is set again when made
            // Joins this change: the row (with this feature's facts) goes out, then the socket opens.
            await directory.AddAsync(record.Name, cancellationToken);
            if (consumed) change.Raise(registry.TombstonesNow());
            await AgentSteps.TellManagerAsync(mediator, command.RequestedBy, "spawned",
                $"{record.Name} was spawned by the {command.RequestedBy}{(consumed ? ", reusing its old state dir" : "")}");
            return consumed;
        }
    }
}
