using System.Diagnostics;
using System.Runtime;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// A latency case's warm-up that lasts until the JIT has gone quiet. Tiered compilation recompiles a path's hot methods
/// in the background for a while after the path first runs (on these two cores, beside the measured calls), so samples
/// taken meanwhile measure the start-up of that path, not the path. Warm: at least <paramref name="minimum"/> iterations
/// and then <see cref="Window"/> (five times the runtime's 100 ms call-counting delay) in which this process compiled no
/// method; at most <paramref name="maximum"/> iterations, whatever the JIT does.
/// </summary>
internal sealed class JitWarmUp(int minimum, int maximum)
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(500);

    private readonly long _compiledAtStart = JitInfo.GetCompiledMethodCount();
    private long _compiled = JitInfo.GetCompiledMethodCount();
    private long _windowStart = Stopwatch.GetTimestamp();
    private (int Gen0, int Gen1, int Gen2, TimeSpan Paused) _gcAtDone;

    public int Iterations { get; private set; }

    public bool Done { get; private set; }

    /// <summary>Counts one warm-up iteration; <see cref="Done"/> once warm.</summary>
    public void Step()
    {
        if (Done) return;
        Iterations++;
        if (Stopwatch.GetElapsedTime(_windowStart) < Window && Iterations < maximum) return;
        var compiled = JitInfo.GetCompiledMethodCount();
        var quiet = compiled == _compiled;
        (_compiled, _windowStart) = (compiled, Stopwatch.GetTimestamp());
        Done = (quiet && Iterations >= minimum) || Iterations >= maximum;
        if (Done) _gcAtDone = Collections();
    }

    /// <summary>What the warm-up took, and how many methods the JIT compiled while the samples were taken after it.</summary>
    public override string ToString() =>
        $"{Iterations} warm-up iterations ({_compiled - _compiledAtStart} methods compiled meanwhile; " +
        (Iterations >= maximum ? $"stopped at the most, {maximum}, before a quiet window" : $"then {Window.TotalMilliseconds:0} ms with none") +
        $"); during the samples: {JitInfo.GetCompiledMethodCount() - _compiled} methods compiled, " + GcSinceDone();

    private static (int Gen0, int Gen1, int Gen2, TimeSpan Paused) Collections() =>
        (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());

    // A collection pauses every thread of this process, the in-process host's and its clients' alike: the tail's other suspect.
    private string GcSinceDone()
    {
        var now = Collections();
        return $"GCs gen0 {now.Gen0 - _gcAtDone.Gen0}, gen1 {now.Gen1 - _gcAtDone.Gen1}, gen2 {now.Gen2 - _gcAtDone.Gen2}, " +
            $"paused {(now.Paused - _gcAtDone.Paused).TotalMilliseconds:0.0} ms";
    }
}
