using Hive.Contracts.Work;
using Hive.Shared.Changes;

namespace Hive.Features.Work.Leases;

/// <summary>One row of <c>leases</c>.</summary>
internal sealed class LeaseRow
{
    public const string Columns = "resource, holder, exclusive, reason, acquired_at, expires_at";

    public string Resource { get; set; } = "";
    public string Holder { get; set; } = "";
    public long Exclusive { get; set; }
    public string? Reason { get; set; }
    public DateTimeOffset AcquiredAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }

    public LeaseView View() => new(Resource, Holder, Exclusive != 0, Reason, AcquiredAt, ExpiresAt);

    public LeaseConflict Conflict() => new(Holder, ExpiresAt, Exclusive != 0, Reason);
}

/// <summary>SQL the lease use cases share.</summary>
internal static class LeasesSql
{
    /// <summary>Every live lease at <paramref name="now"/>, by resource then holder (small: at most a few per agent).</summary>
    public const string Live = $"""
        SELECT {LeaseRow.Columns} FROM leases WHERE expires_at > @Now ORDER BY resource, holder
        """;

    /// <summary>Raises <c>leases_changed</c>: what this change granted or renewed, what ended, and the live count it leaves.</summary>
    public static void RaiseChanged(StateChange change, DateTimeOffset now, string why, IReadOnlyList<LeaseView> leases, IReadOnlyList<LeaseEnded> ended) =>
        change.Raise(new LeasesChanged(leases, ended, change.QuerySingle<long>("SELECT count(*) FROM leases WHERE expires_at > @now", new { now }), why));
}
