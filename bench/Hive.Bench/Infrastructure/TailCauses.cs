using System.Runtime;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// What each latency sample ran beside: a garbage collection (every thread of this process paused), a JIT compilation
/// (tiered recompiling on one of the two cores), a busy wait on the database (a writer met another's lock) or a WAL
/// checkpoint (the log copied back and the database file synced, in the background since ADR 0030). Reported
/// for the samples at or above the p99 against all samples: a cause that the tail has far more often than the rest is
/// the tail's; one it has as often is not.
/// </summary>
internal sealed class TailCauses(Func<long> busyWaits, Func<long> checkpoints)
{
    private readonly List<(double Ms, bool Gc, bool Jit, bool Busy, bool Checkpoint)> _samples = [];
    private (int Gc, long Jit, long Busy, long Checkpoint) _atBegin;

    public void Begin() => _atBegin = Now();

    public void End(double milliseconds)
    {
        var now = Now();
        _samples.Add((milliseconds, now.Gc != _atBegin.Gc, now.Jit != _atBegin.Jit, now.Busy != _atBegin.Busy, now.Checkpoint != _atBegin.Checkpoint));
    }

    /// <summary>The last sample was a warm-up's, not one to count.</summary>
    public void ForgetLast() => _samples.RemoveAt(_samples.Count - 1);

    private (int Gc, long Jit, long Busy, long Checkpoint) Now() => (GC.CollectionCount(0), JitInfo.GetCompiledMethodCount(), busyWaits(), checkpoints());

    public override string ToString()
    {
        if (_samples.Count == 0) return "no samples";
        var p99 = Stats.Percentile([.. _samples.Select(s => s.Ms).Order()], 99);
        var tail = _samples.Where(s => s.Ms >= p99).ToList();
        return $"of the {tail.Count} samples at or above the p99 ({Stats.F(p99, 3)} ms): {Share(tail)}; " +
            $"of all {_samples.Count}: {Share(_samples)}; in neither list: the rest (the scheduler, the path itself)";
    }

    private static string Share(List<(double Ms, bool Gc, bool Jit, bool Busy, bool Checkpoint)> samples)
    {
        string Part(int count) => $"{count} ({Stats.F(100.0 * count / samples.Count, 1)} %)";
        return $"a collection during {Part(samples.Count(s => s.Gc))}, a JIT compilation {Part(samples.Count(s => s.Jit))}, " +
            $"a busy wait {Part(samples.Count(s => s.Busy))}, a checkpoint {Part(samples.Count(s => s.Checkpoint))}, " +
            $"none of them {Part(samples.Count(s => !s.Gc && !s.Jit && !s.Busy && !s.Checkpoint))}";
    }
}
