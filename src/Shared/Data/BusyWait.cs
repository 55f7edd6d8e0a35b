using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SQLitePCL;

namespace Hive.Shared.Data;

/// <summary>
/// How a connection waits for another's write lock. SQLite's own handler (what <c>PRAGMA busy_timeout</c> installs)
/// sleeps 1, 2, 5, 10, 15, 20, 25 … 100 ms between tries, so a state change that meets another's commit of a fraction
/// of a millisecond waits a whole millisecond or more: the tail of send → waiting <c>recv</c> was made of those sleeps.
/// This one tries again after 50 µs, doubling to 5 ms between tries, and gives up as SQLite's would after
/// <see cref="Limit"/>.
/// </summary>
internal static partial class BusyWait
{
    /// <summary>How long a writer waits its turn: 120 changes begun at once on a loaded 2-core machine queued past 5 s,
    /// and a caller must not see SQLITE_BUSY for a queue that was only long.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private const int FirstSleepMicroseconds = 50;
    private const int LongestSleepMicroseconds = 5_000;

    [ThreadStatic] private static long _waitBegan; // the handler runs on the thread whose statement met the lock

    /// <summary>
    /// What one database's connections count (<c>hive_db_busy_waits_total</c>): the times a statement met another
    /// connection's lock and waited. The handler reaches it through a weak handle, so a connection that outlives its
    /// database's owner (in Microsoft.Data.Sqlite's pool) counts into nothing rather than into freed memory.
    /// </summary>
    public sealed class Count
    {
        private long _waits;

        public Count() => Handle = GCHandle.ToIntPtr(GCHandle.Alloc(this, GCHandleType.Weak));

        public long Waits => Interlocked.Read(ref _waits);

        internal IntPtr Handle { get; }

        internal void Add() => Interlocked.Increment(ref _waits);
    }

    /// <summary>Replaces the connection's busy handler (SQLitePCL.raw exposes only <c>sqlite3_busy_timeout</c>).</summary>
    public static unsafe void Install(sqlite3 handle, Count count)
    {
        var rc = BusyHandler(handle.DangerousGetHandle(), &OnBusy, count.Handle);
        if (rc != raw.SQLITE_OK) throw new InvalidOperationException($"sqlite3_busy_handler failed ({rc})");
    }

    /// <param name="tries">How many times this handler ran before for the same lock (0: the first).</param>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnBusy(IntPtr userData, int tries)
    {
        if (tries == 0)
        {
            _waitBegan = Stopwatch.GetTimestamp();
            (GCHandle.FromIntPtr(userData).Target as Count)?.Add();
        }
        else if (Stopwatch.GetElapsedTime(_waitBegan) >= Limit) return 0; // SQLITE_BUSY to the caller
        _ = Usleep((uint)Math.Min(FirstSleepMicroseconds << Math.Min(tries, 10), LongestSleepMicroseconds));
        return 1;
    }

    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_busy_handler")]
    private static unsafe partial int BusyHandler(IntPtr db, delegate* unmanaged[Cdecl]<IntPtr, int, int> handler, IntPtr userData);

    // Thread.Sleep rounds to whole milliseconds; the point here is to sleep less than one.
    [LibraryImport("libc", EntryPoint = "usleep")]
    private static partial int Usleep(uint microseconds);
}
