using Hive.Shared.Changes;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Containers;

/// <summary>
/// What a subtree's lifecycle action holds: every member's turn, all taken before anything changes (one busy member is a
/// 409 and nothing was done), and the transient they all show, set in the action's own change and cleared in one more.
/// </summary>
internal sealed class SubtreeTurns(AgentTurns turns, AgentSteps steps, StateChanges changes, IServiceScopeFactory scopes, IReadOnlyList<string> names, string transient)
    : IAsyncDisposable
{
    private readonly List<AgentTurn> _taken = [];

    public IReadOnlyList<string> Names => names;

    /// <summary>The members with what the host holds for each, in <see cref="Names"/>' order.</summary>
    public IReadOnlyList<(string Name, AgentHold Hold)> Holds => names.Select(n => (n, turns.Of(n))).ToList();

    public async Task TakeAsync()
    {
        try
        {
            foreach (var name in names) _taken.Add(await turns.TryTakeAsync(name));
        }
        catch
        {
            Release();
            throw;
        }
    }

    /// <summary>In the action's change: every member shows <paramref name="transient"/> (rows raised by the caller).</summary>
    public void Show(StateChange change) =>
        change.Execute("UPDATE agents SET transient = @transient WHERE name IN @names", new { transient, names });

    public async ValueTask DisposeAsync()
    {
        try
        {
            await changes.RunAsync(scopes, async (change, _) =>
            {
                change.Execute("UPDATE agents SET transient = NULL WHERE name IN @names AND transient = @transient", new { transient, names });
                foreach (var name in names) await steps.RaiseRowAsync(change, name);
            }, CancellationToken.None);
        }
        finally
        {
            Release();
        }
    }

    private void Release()
    {
        foreach (var turn in _taken) turn.Dispose();
        _taken.Clear();
    }
}

/// <summary>
/// What a subtree's stop or start did: the agents it stopped or started (for a start, those already running too), in the
/// order it took them, and those it left alone with why (an external agent: Hive does not run its process).
/// </summary>
public sealed record SubtreeReply(string Agent, string Action, IReadOnlyList<string> Agents, IReadOnlyList<SkippedAgent> Skipped);

public sealed record SkippedAgent(string Name, string Reason);
