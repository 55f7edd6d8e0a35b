using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Agents;

/// <summary>
/// The live set of agents. Seeded at start-up (today from <see cref="ConfiguredAgents"/>); <see cref="AddAsync"/> and
/// <see cref="RemoveAsync"/> change it at run time (the Containers registry will call them as its agents come and go).
/// Each change creates the agent's state dir (on add), tells the subscribers (the socket server opens or closes the
/// agent's socket) and publishes the dashboard's <c>container_state_changed</c> or <c>container_removed</c>.
/// Lookups never block; changes run one at a time.
/// </summary>
public sealed class AgentDirectory : IAgentDirectory
{
    private readonly object _lock = new();
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly HivePaths _paths;
    private readonly StateChangeGate _gate;
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger<AgentDirectory> _logger;
    private volatile Members _members;
    private IReadOnlyList<Subscriber> _subscribers = []; // replaced, never mutated: a change calls the list it saw

    public AgentDirectory(
        IEnumerable<AgentInfo> initial, HivePaths paths, StateChangeGate gate, IServiceScopeFactory scopes, ILogger<AgentDirectory> logger)
    {
        _members = new Members(initial);
        _paths = paths;
        _gate = gate;
        _scopes = scopes;
        _logger = logger;
    }

    public bool IsAgent(string name) => _members.ByName.ContainsKey(name);

    public IReadOnlyList<AgentInfo> List() => _members.Ordered;

    public AgentSubscription Subscribe(Action<AgentChange> onChange)
    {
        var subscriber = new Subscriber(onChange);
        lock (_lock)
        {
            // Under the lock a change swaps members and takes its subscriber list: this subscriber either is in that
            // list or already sees the change in the members it gets here.
            _subscribers = [.. _subscribers, subscriber];
            return new AgentSubscription(_members.Ordered, () =>
            {
                lock (_lock) _subscribers = _subscribers.Where(s => s != subscriber).ToList();
            });
        }
    }

    /// <summary>
    /// Adds an agent (kind <c>manager</c> for the name <c>manager</c>, else <c>agent</c>): creates its state dir,
    /// publishes its row, then opens its socket. False when it is already there.
    /// </summary>
    /// <remarks>Takes the <see cref="StateChangeGate"/>: never call it from inside a state change that holds it.</remarks>
    public async Task<bool> AddAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!AgentNames.IsWellFormed(name))
            throw new ArgumentException($"'{name}' is not a valid agent name (^[a-z][a-z0-9-]{{0,30}}$)", nameof(name));
        if (name != AgentNames.Manager && AgentNames.Reserved.Contains(name))
            throw new ArgumentException($"'{name}' is reserved", nameof(name));
        var agent = new AgentInfo(name, name == AgentNames.Manager ? AgentKinds.Manager : AgentKinds.Agent, _paths.AgentStateDir(name));

        return await ChangeAsync(async mediatorScope =>
        {
            if (IsAgent(name)) return false;
            Directory.CreateDirectory(agent.StateDir);
            // The row carries the features' facts on this agent (pending reminders of a name added back, say); they are
            // read before anything changes, so a failure here leaves the directory as it was.
            var row = (await mediatorScope.GetRequiredService<AgentRows>().BuildAsync([agent], cancellationToken)).Single();
            var subscribers = Swap(_members.With(agent));
            // The row before the socket: the agent cannot act before the dashboard knows it.
            await mediatorScope.GetRequiredService<IMediator>().Publish(new AgentAdded(row), CancellationToken.None);
            Notify(subscribers, new AgentChange(AgentChangeKind.Added, agent));
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Removes an agent: its socket closes (with its open connections, a parked <c>recv</c> included) and the dashboard
    /// drops its row. Its state dir and its data stay. False when it is not there.
    /// </summary>
    /// <remarks>Takes the <see cref="StateChangeGate"/>: never call it from inside a state change that holds it.</remarks>
    public Task<bool> RemoveAsync(string name, CancellationToken cancellationToken = default) =>
        ChangeAsync(async mediatorScope =>
        {
            if (!_members.ByName.TryGetValue(name, out var agent)) return false;
            var subscribers = Swap(_members.Without(name));
            Notify(subscribers, new AgentChange(AgentChangeKind.Removed, agent));
            await mediatorScope.GetRequiredService<IMediator>().Publish(new AgentRemoved(name), CancellationToken.None);
            return true;
        }, cancellationToken);

    /// <summary>
    /// One change at a time, holding the gate exclusively from the change to its event: a snapshot sees the agent and
    /// a seq covering its event, or neither; and no feature's change lands between reading the row's facts and
    /// publishing them, so the row is exact at its event's id.
    /// </summary>
    private async Task<bool> ChangeAsync(Func<IServiceProvider, Task<bool>> change, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken); // before the gate: never hold the gate while queueing
        try
        {
            using (await _gate.EnterSnapshotAsync(cancellationToken))
            {
                await using var scope = _scopes.CreateAsyncScope();
                return await change(scope.ServiceProvider);
            }
        }
        finally
        {
            _changes.Release();
        }
    }

    private IReadOnlyList<Subscriber> Swap(Members members)
    {
        lock (_lock)
        {
            _members = members;
            return _subscribers;
        }
    }

    private void Notify(IReadOnlyList<Subscriber> subscribers, AgentChange change)
    {
        foreach (var subscriber in subscribers)
        {
            try
            {
                subscriber.OnChange(change);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "a subscriber failed on {Change} of {Agent}", change.Kind, change.Agent.Name);
            }
        }
    }

    private sealed class Subscriber(Action<AgentChange> onChange)
    {
        public Action<AgentChange> OnChange { get; } = onChange;
    }

    /// <summary>An immutable view of the set: readers take the current one without a lock.</summary>
    private sealed class Members
    {
        public Members(IEnumerable<AgentInfo> agents)
        {
            ByName = agents.ToDictionary(a => a.Name, StringComparer.Ordinal);
            Ordered = ByName.Values
                .OrderBy(a => a.Kind == AgentKinds.Manager ? 0 : 1)
                .ThenBy(a => a.Name, StringComparer.Ordinal)
                .ToList();
        }

        public Dictionary<string, AgentInfo> ByName { get; }
        public IReadOnlyList<AgentInfo> Ordered { get; }

        public Members With(AgentInfo agent) => new(Ordered.Append(agent));
        public Members Without(string name) => new(Ordered.Where(a => a.Name != name));
    }
}
