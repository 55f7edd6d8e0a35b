using Hive.Contracts.Governance;
using Hive.Shared.Errors;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// The slots and the one fair queue, in memory (a restart ends every turn: their connections die with the host). A turn
/// request waits here until it is first in line among those nothing holds (operator wakes before the rest, then oldest
/// waiting first) and a slot is free, hive-wide and for its provider. One waiter and one turn per agent at a time, so no
/// agent waits behind a second turn of another. Granting only reserves the slot; the request that waited writes its row.
/// </summary>
internal sealed class Admission(GovernanceState state, ProviderRoutes routes, IOptions<GovernanceOptions> options, TimeProvider clock)
{
    /// <summary>How long a withdrawn waiter's place is kept for its next request (a harness asks again at once).</summary>
    public static readonly TimeSpan RejoinWithin = TimeSpan.FromSeconds(10);

    private readonly object _lock = new();
    private readonly List<Waiter> _queue = [];
    private readonly List<Slot> _slots = [];
    private readonly Dictionary<string, (DateTimeOffset Since, DateTimeOffset Left)> _rejoin = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _announced = new(StringComparer.Ordinal);
    private long _arrivals;

    /// <summary>A turn request in line; <see cref="Chain"/> is the providers its turn may run on, in order (one for most agents).</summary>
    public sealed class Waiter(string agent, IReadOnlyList<string> chain, bool operatorWake, DateTimeOffset since, long arrival)
    {
        public string Agent { get; } = agent;
        public IReadOnlyList<string> Chain { get; } = chain;
        public bool OperatorWake { get; } = operatorWake;
        public DateTimeOffset Since { get; } = since;
        public long Arrival { get; } = arrival;
        public TaskCompletionSource<Slot> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A granted turn (its id once its row is written): running, or told to stop by a deadline.</summary>
    public sealed class Slot(Waiter waiter, string provider, DateTimeOffset grantedAt)
    {
        public string Agent => waiter.Agent;

        /// <summary>The provider it runs on: chosen from its chain when reserved; moved on within the turn only before anything happened in it.</summary>
        public string Provider { get; set; } = provider;
        public IReadOnlyList<string> Chain => waiter.Chain;

        /// <summary>Set when it was granted on another provider than the agent's last turn: the brief its harness starts afresh with.</summary>
        public Hive.Contracts.Governance.Handoff? Handoff { get; set; }
        public bool OperatorWake => waiter.OperatorWake;
        public DateTimeOffset WaitingSince => waiter.Since;
        public DateTimeOffset GrantedAt { get; } = grantedAt;
        public long TurnId { get; set; }
        public (string Reason, DateTimeOffset Deadline)? Stop { get; set; }

        /// <summary>
        /// Its end is committed (or committing) and its slot is let go once the end's events are out: the view shows it
        /// gone from then, so a page that reloads on <c>turn_ended</c> never reads it as still running.
        /// </summary>
        public bool EndCommitted { get; set; }

        /// <summary>The stall rule's clock for this turn (its grant, or the end of the extra minutes the operator gave) and how far it got.</summary>
        public DateTimeOffset StallFrom { get; set; } = grantedAt;
        public StallStage Stall { get; set; }

        /// <summary>Something happened in this turn besides its own wake: a message sent, a new one acknowledged, a reminder or question changed.</summary>
        public bool Acted { get; set; }

        /// <summary>Scopes whose "one more turn" allowance this grant uses (taken when it was reserved, given back if it never runs).</summary>
        public List<string> Allowances { get; } = [];

        private readonly List<IDisposable> _onEnd = [];

        /// <summary>Something that lives as long as the turn (its connection's close watch): disposed when it ends.</summary>
        public void OnEnd(IDisposable resource)
        {
            lock (_onEnd) _onEnd.Add(resource);
        }

        internal void Ended_(string reason)
        {
            lock (_onEnd)
            {
                foreach (var resource in _onEnd) resource.Dispose();
                _onEnd.Clear();
            }
            Ended.TrySetResult(reason);
        }
        public TaskCompletionSource Stopping { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<string> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public enum StallStage { None, Nudged, Paused }

    public int MaxConcurrent => options.Value.MaxConcurrentTurns;

    /// <summary>Puts <paramref name="agent"/> in line and grants what can be granted now.</summary>
    public Waiter Enqueue(string agent, IReadOnlyList<string> chain, bool operatorWake)
    {
        lock (_lock)
        {
            if (_slots.Any(s => s.Agent == agent))
                throw new ConflictException($"{agent} has a turn running: end it with record_turn (its turn_id) before asking for another");
            if (_queue.Any(w => w.Agent == agent))
                throw new ConflictException($"{agent} is already waiting for a turn (on another connection)");
            var now = clock.GetUtcNow();
            foreach (var stale in _rejoin.Where(r => now - r.Value.Left > RejoinWithin).Select(r => r.Key).ToList()) _rejoin.Remove(stale);
            var since = _rejoin.Remove(agent, out var kept) ? kept.Since : now;
            var waiter = new Waiter(agent, chain, operatorWake, since, ++_arrivals);
            _queue.Add(waiter);
            Pump();
            return waiter;
        }
    }

    /// <summary>
    /// Takes a waiter whose wait ran out out of line, keeping its place for <see cref="RejoinWithin"/>: what holds it, or null
    /// when a slot was reserved for it meanwhile (the caller then takes the grant).
    /// </summary>
    public Held? Withdraw(Waiter waiter)
    {
        lock (_lock)
        {
            if (!_queue.Remove(waiter)) return null;
            _rejoin[waiter.Agent] = (waiter.Since, clock.GetUtcNow());
            return HoldOf(waiter.Agent, waiter.Chain) ?? new Held(HoldReasons.Queued, null);
        }
    }

    /// <summary>The provider of its chain a turn of the waiter's agent would run on now.</summary>
    public string ProviderOf(Waiter waiter) => routes.Choose(waiter.Agent, waiter.Chain, clock.GetUtcNow()).Provider;

    /// <summary>What holds a turn of <paramref name="agent"/> on the provider its chain gives it now.</summary>
    public Held? HoldOf(string agent, IReadOnlyList<string> chain) => HoldOf(agent, routes.Choose(agent, chain, clock.GetUtcNow()).Provider);

    /// <summary>What holds a turn of <paramref name="agent"/> on <paramref name="provider"/> now, other than a full house: null when nothing does.</summary>
    public Held? HoldOf(string agent, string provider)
    {
        var now = clock.GetUtcNow();
        if (state.WorkHeldFor(agent) is { } work) return new Held(work, null);
        if (state.CircuitOf(provider, now) is { } circuit) return new Held(HoldReasons.Quota, circuit.Until);
        if (state.QuotaHoldOf(agent, now) is { } hold && hold.Provider == provider) return new Held(HoldReasons.Quota, hold.Until);
        if (state.Budgets.HoldOf(agent, now) is not null) return new Held(HoldReasons.Budget, null);
        return null;
    }

    /// <summary>True when <paramref name="reason"/> is news for <paramref name="agent"/> (a <c>turn_held</c> is raised once per reason).</summary>
    public bool Announce(string agent, string reason)
    {
        lock (_lock)
        {
            if (_announced.TryGetValue(agent, out var last) && last == reason) return false;
            _announced[agent] = reason;
            return true;
        }
    }

    public void Granted(Slot slot, long turnId)
    {
        lock (_lock)
        {
            slot.TurnId = turnId;
            _announced.Remove(slot.Agent);
        }
    }

    /// <summary>Gives the slot back (the turn ended, or its row could not be written) and grants the next.</summary>
    public void Release(Slot slot, string reason)
    {
        lock (_lock)
        {
            if (!_slots.Remove(slot)) return;
            if (slot.TurnId == 0)
                foreach (var scope in slot.Allowances) state.Budgets.Allow(scope, state.Budgets.AllowanceOf(scope) + 1);
            Pump();
        }
        slot.Ended_(reason);
    }

    public Slot? Find(long turnId)
    {
        lock (_lock) return _slots.FirstOrDefault(s => s.TurnId == turnId);
    }

    /// <summary>The agent's granted turn (its row written), if it has one.</summary>
    public Slot? RunningOf(string agent)
    {
        lock (_lock) return _slots.FirstOrDefault(s => s.Agent == agent && s.TurnId > 0);
    }

    /// <summary>Tells the running turns that match to stop by <paramref name="deadline"/> (their harness stops its command).</summary>
    public IReadOnlyList<Slot> Revoke(Func<Slot, bool> which, string reason, DateTimeOffset deadline)
    {
        List<Slot> revoked;
        lock (_lock)
        {
            revoked = _slots.Where(s => s.Stop is null && which(s)).ToList();
            foreach (var slot in revoked) slot.Stop = (reason, deadline);
        }
        foreach (var slot in revoked) slot.Stopping.TrySetResult();
        return revoked;
    }

    public (IReadOnlyList<Slot> Running, IReadOnlyList<Waiter> Queue) Snapshot()
    {
        lock (_lock) return ([.. _slots], [.. Ordered()]);
    }

    /// <summary>Grants in order while slots are free. Called under the lock, and from outside whenever a hold may have lifted.</summary>
    public void Pump()
    {
        lock (_lock)
        {
            while (_slots.Count < options.Value.MaxConcurrentTurns)
            {
                var next = Ordered().Select(w => (Waiter: w, Provider: ProviderOf(w)))
                    .FirstOrDefault(w => HoldOf(w.Waiter.Agent, w.Provider) is null && ProviderHasRoom(w.Provider));
                if (next.Waiter is null) return;
                _queue.Remove(next.Waiter);
                var slot = new Slot(next.Waiter, next.Provider, clock.GetUtcNow());
                TakeAllowances(slot);
                _slots.Add(slot);
                next.Waiter.Granted.TrySetResult(slot);
            }
        }
    }

    /// <summary>
    /// A reached cap lets this grant through only by an allowance: it is taken now, under the lock, so the same allowance
    /// never lets a second waiter through (the grant's row then writes it down; a grant that never runs gives it back).
    /// </summary>
    private void TakeAllowances(Slot slot)
    {
        var now = clock.GetUtcNow();
        foreach (var scope in new[] { slot.Agent, Scopes.Hive })
        {
            var allowance = state.Budgets.AllowanceOf(scope);
            if (allowance <= 0 || state.Budgets.ReachedOf(scope, now) is null) continue;
            state.Budgets.Allow(scope, allowance - 1);
            slot.Allowances.Add(scope);
        }
    }

    private bool ProviderHasRoom(string provider) =>
        !options.Value.ProviderCaps.TryGetValue(provider, out var cap) || _slots.Count(s => s.Provider == provider) < cap;

    private IEnumerable<Waiter> Ordered() => _queue.OrderByDescending(w => w.OperatorWake).ThenBy(w => w.Since).ThenBy(w => w.Arrival);
}
