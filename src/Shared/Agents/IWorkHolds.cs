namespace Hive.Shared.Agents;

/// <summary>
/// Whether an agent may work now: not while the hive is halted or the agent paused. Declared here because Messages
/// (<c>recv</c> hands nothing out) and Containers (no restart by policy) obey it while Governance, higher up, decides;
/// with no implementation, nothing is ever held.
/// </summary>
public interface IWorkHolds
{
    /// <summary>Why <paramref name="agent"/> may not work now (<c>halted</c>, <c>paused</c>), or null when it may.</summary>
    string? HeldFor(string agent);

    /// <summary>Completes when <paramref name="agent"/> may work (at once when it may now), or throws when cancelled.</summary>
    Task WhenFreeAsync(string agent, CancellationToken cancellationToken);
}

/// <summary>Nothing held: the holds until a feature that governs provides them.</summary>
public sealed class NothingHeld : IWorkHolds
{
    public string? HeldFor(string agent) => null;
    public Task WhenFreeAsync(string agent, CancellationToken cancellationToken) => Task.CompletedTask;
}
