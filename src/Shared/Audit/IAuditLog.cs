namespace Hive.Shared.Audit;

/// <summary>
/// The append-only audit log of every mutating action: the operator's HTTP mutations (recorded by the host's pipeline) and
/// the manager's verbs (by the socket server). Declared here because both live below the feature that keeps it
/// (Governance); with no implementation nothing is kept. An entry never holds a body: a body may hold a secret.
/// </summary>
public interface IAuditLog
{
    void Record(AuditEntry entry);
}

/// <param name="Action">The route (<c>PUT /api/governance/budgets/{scope}</c>) or the verb (<c>pause</c>).</param>
/// <param name="Result">The HTTP status, or <c>ok</c> / the error code of a verb.</param>
public sealed record AuditEntry(DateTimeOffset At, string Actor, string Action, string? Target, string Result);

public sealed class NoAuditLog : IAuditLog
{
    public void Record(AuditEntry entry) { }
}
