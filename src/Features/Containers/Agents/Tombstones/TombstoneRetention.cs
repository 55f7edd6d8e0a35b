using Hive.Contracts.Containers;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// What retention means for a tombstone now (<c>Hive:Containers:TombstoneRetainDays</c>), and when the next sweep runs:
/// the one place the registry's views and the sweep agree on it.
/// </summary>
internal sealed class TombstoneRetention(IOptions<ContainersOptions> options, TimeProvider clock)
{
    /// <summary>One sweep at a time: the periodic one and the operator's "sweep now" never check the same tombstone twice.</summary>
    public SemaphoreSlim Sweeping { get; } = new(1, 1);

    private long _nextSweepTicks; // 0: none scheduled (retention off, or before the first sweep)

    public int? RetainDays => options.Value.RetainsTombstones ? options.Value.TombstoneRetainDays : null;

    public TimeSpan SweepInterval => TimeSpan.FromMinutes(options.Value.TombstoneSweepMinutes);

    /// <summary>Tombstones destroyed at or before this are due; null when retention is off.</summary>
    public DateTimeOffset? Cutoff() => RetainDays is { } days ? clock.GetUtcNow() - TimeSpan.FromDays(days) : null;

    public DateTimeOffset? NextSweepAt
    {
        get => Interlocked.Read(ref _nextSweepTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
        set => Interlocked.Exchange(ref _nextSweepTicks, value?.UtcTicks ?? 0);
    }

    public TombstoneRetentionStatus StatusOf(DateTimeOffset destroyedAt, string? keptReason, DateTimeOffset? checkedAt, DateTimeOffset now)
    {
        if (RetainDays is not { } days) return new TombstoneRetentionStatus("off", null, null, null);
        var dueAt = destroyedAt + TimeSpan.FromDays(days);
        if (keptReason is not null) return new TombstoneRetentionStatus("kept", dueAt, keptReason, checkedAt);
        return new TombstoneRetentionStatus(dueAt <= now ? "due" : "waiting", dueAt, null, checkedAt);
    }

    public TombstoneRetentionSummary Summary(long totalBytes) => new(RetainDays, RetainDays is null ? null : NextSweepAt, totalBytes);
}
