namespace Hive.Shared.Dashboard;

/// <summary>
/// A feature's part of the cold-load snapshot (<c>GET /api/state</c>). Called while the snapshot holds the
/// <see cref="StateChangeGate"/>, so what it reads matches the snapshot's <c>seq</c> exactly.
/// </summary>
public interface IDashboardStateContributor
{
    Task ContributeAsync(DashboardState state, CancellationToken cancellationToken);
}

/// <summary>The snapshot under construction: top-level sections by name, in the order they were added.</summary>
public sealed class DashboardState
{
    private readonly OrderedDictionary<string, object?> _sections = new();

    public IReadOnlyDictionary<string, object?> Sections => _sections;

    public void Set(string section, object? value) => _sections[section] = value;
}
