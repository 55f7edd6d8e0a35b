namespace Hive.Shared.Dashboard;

/// <summary>
/// A feature's part of the cold-load snapshot (<c>GET /api/state</c>). Called while the snapshot holds the
/// <see cref="StateChangeGate"/>, so what it reads matches the snapshot's <c>seq</c> exactly.
/// </summary>
public interface IDashboardStateContributor
{
    /// <summary>
    /// Called while the snapshot holds the gate, before any <see cref="ContributeAsync"/>: capture in-memory state here.
    /// <see cref="ContributeAsync"/> runs after the gate is left, reading the database through <c>IDb.Open()</c>, which
    /// then hands out one read transaction begun under the gate (so what it reads still matches <c>seq</c>).
    /// </summary>
    void Capture() { }

    Task ContributeAsync(DashboardState state, CancellationToken cancellationToken);
}

/// <summary>The snapshot under construction: top-level sections by name, in the order they were added.</summary>
public sealed class DashboardState
{
    private readonly OrderedDictionary<string, object?> _sections = new();

    public IReadOnlyDictionary<string, object?> Sections => _sections;

    public void Set(string section, object? value) => _sections[section] = value;
}
