using MediatR;

namespace Hive.Shared.Changes;

/// <summary>
/// Sees what a change raised just before it commits and may write in its transaction, so that rows fed by events (an
/// outbox of pushes) commit with the change that caused them or not at all. Must be quick and must not raise.
/// </summary>
public interface IChangeWitness
{
    void BeforeCommit(StateChange change, IReadOnlyList<INotification> raised);
}
