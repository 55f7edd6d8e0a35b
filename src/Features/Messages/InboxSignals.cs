using System.Collections.Concurrent;
using Hive.Shared.Agents;

namespace Hive.Features.Messages;

/// <summary>
/// Wakes waiting <c>recv</c> long-polls when a message for their agent commits: no polling. A waiter takes the
/// current signal before it looks at the table, so an arrival between its look and its wait still wakes it.
/// One parked <c>recv</c> per agent may also be handed its messages by the send itself (<see cref="ParkedReceiver"/>).
/// </summary>
internal sealed class InboxSignals(IWorkHolds holds)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ParkedReceiver> _parked = new(StringComparer.Ordinal);

    public Task Current(string agent) =>
        _signals.GetOrAdd(agent, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(string agent)
    {
        if (_signals.TryRemove(agent, out var signal)) signal.TrySetResult();
    }

    /// <summary>
    /// A message's <c>sent</c> is out: releases the receiver it was handed to once all it holds are out (so it can never
    /// be acknowledged, and <c>delivered</c>, before it is <c>sent</c>), and wakes the agent's other waiters.
    /// </summary>
    public void Announced(string agent, long messageId)
    {
        if (_parked.TryGetValue(agent, out var receiver)) receiver.Announced(messageId);
        Notify(agent);
    }

    /// <summary>
    /// Makes a <c>recv</c> that found its inbox empty claimable by the writer until it is withdrawn; null when another
    /// <c>recv</c> of the agent is parked so already (this one is only woken).
    /// </summary>
    public ParkedReceiver? Park(string agent, int max)
    {
        var receiver = new ParkedReceiver(agent, max);
        return _parked.TryAdd(agent, receiver) ? receiver : null;
    }

    /// <summary>Whether any recv is parked claimable now: the writer's batches skip the hand-over when none is.</summary>
    public bool AnyParked => !_parked.IsEmpty;

    /// <summary>
    /// The writer's claim on <paramref name="agent"/>'s parked receiver, inside its transaction: the receiver will take
    /// what the writer hands it. None for a held agent (halted or paused: nothing is handed out).
    /// </summary>
    public ParkedReceiver? Claim(string agent) =>
        holds.HeldFor(agent) is null && _parked.TryGetValue(agent, out var receiver) && receiver.TryClaim() ? receiver : null;

    /// <summary>The receiver's wait is over; a claimed one is removed once it has what was handed to it.</summary>
    public void Unpark(ParkedReceiver receiver) => _parked.TryRemove(KeyValuePair.Create(receiver.Agent, receiver));
}
