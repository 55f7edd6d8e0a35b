namespace Hive.Testing;

/// <summary>Workflows the tests and the benches load, written once.</summary>
public static class TestWorkflows
{
    /// <summary>
    /// A workflow <c>reviewed</c> on <paramref name="repository"/>: backlog → build (an agent that can code) → review (the
    /// operator's) → done, where changes go back to build; with <paramref name="check"/> (YAML, e.g. <c>[sh, check.sh]</c>)
    /// its merge queue's check.
    /// </summary>
    public static string Reviewed(string repository, string? check = null) => $"""
        name: reviewed
        repository: {repository}
        {(check is null ? "" : $"check: {check}")}
        phases:
          - name: backlog
            allowed_transitions: [build]
          - name: build
            needs: [code]
            allowed_transitions: [review]
          - name: review
            reviewed_by: operator
            allowed_transitions: [done, build]
          - name: done
            terminal: true
        """;
}
