using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Agents;

/// <summary>
/// The live set of agents: seeded once at start-up from the registry (<see cref="IAgentDirectorySeed"/>, the Containers
/// feature's), then changed by <see cref="AddAsync"/> and <see cref="RemoveAsync"/> as the registry's agents come and go.
/// Each change creates the agent's state dir (on add), tells the subscribers (the socket server opens or closes the
/// agent's socket) and publishes the dashboard's <c>container_state_changed</c> or <c>container_removed</c>.
/// Lookups never block.
/// </summary>
public sealed class AgentDirectory : IAgentDirectory
{
    private readonly object _lock = new();
    private readonly HivePaths _paths;
    private readonly StateChanges _stateChanges;
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger<AgentDirectory> _logger;
    private volatile Members _members;
    private IReadOnlyList<Subscriber> _subscribers = []; // replaced, never mutated: a change calls the list it saw

    public AgentDirectory(HivePaths paths, StateChanges stateChanges, IServiceScopeFactory scopes, ILogger<AgentDirectory> logger)
    {
        _members = new Members([]);
        _paths = paths;
        _stateChanges = stateChanges;
        _scopes = scopes;
        _logger = logger;
    }

    /// <summary>The agents the hive starts with; once, before anything subscribes (the host calls it after the migrations).</summary>
    public void Seed(IReadOnlyList<AgentInfo> agents)
    {
        lock (_lock)
        {
            if (_seeded) throw new InvalidOperationException("the agent directory is seeded once, at start-up");
            if (_subscribers.Count > 0) throw new InvalidOperationException("seed the agent directory before anything subscribes");
            _seeded = true;
            _members = new Members(agents);
        }
    }

    private bool _seeded;

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
    /// publishes its row, then opens its socket. False when it is already there. A state change: called from inside
    /// another one (the Containers registry's), it joins it, and nothing happens if that change rolls back.
    /// </summary>
    public async Task<bool> AddAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!AgentNames.IsWellFormed(name))
            throw new ArgumentException($"'{name}' is not a valid agent name (^[a-z][a-z0-9-]{{0,30}}$)", nameof(name));
        if (name != AgentNames.Manager && AgentNames.Reserved.Contains(name))
            throw new ArgumentException($"'{name}' is reserved", nameof(name));
        var agent = new AgentInfo(name, name == AgentNames.Manager ? AgentKinds.Manager : AgentKinds.Agent, _paths.AgentStateDir(name));

        return await ChangeAsync(async (change, services) =>
        {
            if (IsAgent(name)) return false;
            _paths.EnsureAgentDirs(name); // 0700, whatever the umask
            // The row carries the features' facts on this agent (pending reminders of a name added back, say).
            var row = (await services.GetRequiredService<AgentRows>().BuildAsync([agent], cancellationToken)).Single();
            change.Raise(new AgentRowChanged(row));
            // After the row is out: the agent cannot act (its socket opens here) before the dashboard knows it.
            change.AfterPublished(() => Notify(Swap(members => members.With(agent)), new AgentChange(AgentChangeKind.Added, agent)));
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Removes an agent: its socket closes (with its open connections, a parked <c>recv</c> included) and the dashboard
    /// drops its row. Its state dir and its data stay. False when it is not there. A state change, as <see cref="AddAsync"/>.
    /// </summary>
    public Task<bool> RemoveAsync(string name, CancellationToken cancellationToken = default) =>
        ChangeAsync((change, _) =>
        {
            if (!_members.ByName.TryGetValue(name, out var agent)) return Task.FromResult(false);
            change.Raise(new AgentRemoved(name));
            change.AfterPublished(() => Notify(Swap(members => members.Without(name)), new AgentChange(AgentChangeKind.Removed, agent)));
            return Task.FromResult(true);
        }, cancellationToken);

    /// <summary>
    /// A directory change through the unit of work: it holds the snapshot gate until its event is out and the set has
    /// changed (the set changes in an after-publish effect, so a change that rolls back leaves it alone), so a snapshot
    /// sees the agent and a seq covering its event, or neither.
    /// </summary>
    private Task<bool> ChangeAsync(Func<StateChange, IServiceProvider, Task<bool>> work, CancellationToken cancellationToken) =>
        _stateChanges.RunAsync(_scopes, work, cancellationToken);

    /// <summary>
    /// Applies <paramref name="change"/> to the set as it is under the lock (changes publish side by side: computed from
    /// a set read earlier, two adds would each drop the other's agent). The subscribers to tell, or none when the set
    /// already was so (two adds of one name raced).
    /// </summary>
    private IReadOnlyList<Subscriber> Swap(Func<Members, Members> change)
    {
        lock (_lock)
        {
            var members = change(_members);
            if (members == _members) return [];
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

        public Members With(AgentInfo agent) => ByName.ContainsKey(agent.Name) ? this : new(Ordered.Append(agent));
        public Members Without(string name) => ByName.ContainsKey(name) ? new(Ordered.Where(a => a.Name != name)) : this;
    }
}
