namespace Hive.Shared.Changes;

/// <summary>
/// Marks a request whose handler changes state. <see cref="StateChangeBehavior{TRequest,TResponse}"/> runs it inside
/// the one <see cref="StateChange"/> of its flow: a new one, or the caller's when a handler sends it from inside its own.
/// </summary>
public interface IChangesState;
