using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Shared.Changes;

/// <summary>
/// The one unit of work for every state change. A change enters the snapshot gate, runs its handler on one
/// connection and transaction, commits once, then publishes what the handler raised, in order, and only then leaves
/// the gate (so <c>/api/state</c> sees a change together with its events or not at all). Nothing is published on
/// rollback. Within one async flow changes nest: a request sent from inside a running change joins it (one
/// transaction, one commit), and a change started by a notification handler while its parent publishes reuses the
/// parent's place in the gate instead of queueing behind a snapshot that waits for that parent.
/// </summary>
/// <remarks>Reports storage faults and recoveries to <see cref="Health.StorageHealth"/>.</remarks>
public sealed class StateChanges(IDb db, IStateChangeGate gate, Health.StorageHealth health, IEnumerable<IChangeWitness>? witnesses = null)
{
    // AsyncLocal, not a DI scope: what nests is the call chain, and a value set in RunAsync never leaks to its caller.
    private static readonly AsyncLocal<StateChange?> Flow = new();
    private readonly IChangeWitness[] _witnesses = witnesses?.ToArray() ?? [];

    /// <summary>The change the calling handler runs in.</summary>
    public StateChange Current => Flow.Value is { IsRunning: true } change
        ? change
        : throw new InvalidOperationException("no state change is running here: mark the request IChangesState");

    /// <summary>The change the caller runs in, if any: for readers that must see what their change wrote so far.</summary>
    public bool TryGetCurrent([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StateChange? change)
    {
        change = Flow.Value is { IsRunning: true } running ? running : null;
        return change is not null;
    }

    /// <summary>
    /// A change begun outside a request (a background loop, the agent directory, a supervisor's step): the work gets the
    /// change and a DI scope of its own, and what it raises is published through that scope's mediator.
    /// </summary>
    /// <summary>A change begun outside a request that answers nothing: its own DI scope, published through that scope's mediator.</summary>
    public Task RunAsync(IServiceScopeFactory scopes, Func<StateChange, IServiceProvider, Task> work, CancellationToken cancellationToken) =>
        RunAsync(scopes, async (change, services) =>
        {
            await work(change, services);
            return true;
        }, cancellationToken);

    public async Task<T> RunAsync<T>(
        IServiceScopeFactory scopes, Func<StateChange, IServiceProvider, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
        return await RunAsync(() => work(Current, scope.ServiceProvider), n => mediator.Publish(n, CancellationToken.None), cancellationToken);
    }

    public async Task<T> RunAsync<T>(Func<Task<T>> work, Func<INotification, Task> publish, CancellationToken cancellationToken)
    {
        var parent = Flow.Value;
        if (parent is { IsRunning: true }) return await parent.JoinAsync(work);

        using var gateEntry = parent is { HoldsGate: true } ? null : await gate.EnterChangeAsync(cancellationToken);
        using var change = new StateChange(db);
        Flow.Value = change;
        T result;
        try
        {
            result = await work();
            if (change.RaisedSoFar.Count > 0)
                foreach (var witness in _witnesses) witness.BeforeCommit(change, change.RaisedSoFar);
            change.Commit();
        }
        catch (Exception e)
        {
            health.Observe(e); // disk full or a failing database: /healthz and the log say so
            throw;
        }
        if (change.Wrote) health.WriteSucceeded();
        foreach (var notification in change.Raised) await publish(notification);
        foreach (var effect in change.EffectsAfterPublished) effect();
        return result;
    }
}
