using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hive.Shared.Hosting;
using SQLitePCL;

namespace Hive.Shared.Data;

/// <summary>
/// When the write-ahead log is copied back into the database. SQLite's own rule (<c>wal_autocheckpoint</c>, 1,000 frames)
/// checkpoints inside the commit that crosses the line: that commit, whichever it is (a send's, a recv's take), also
/// copies the log's pages and syncs the database file, and on this machine that made most of the tail of send → waiting
/// <c>recv</c>. Here a commit past <see cref="BackgroundAt"/> only wakes <see cref="WalCheckpointer"/>, which checkpoints
/// on its own connection while the writers go on appending; past <see cref="InlineAt"/> (no checkpointer running, or
/// one that cannot keep up) the commit checkpoints itself as SQLite would, so the log stays bounded either way.
/// </summary>
public static partial class WalCheckpoints
{
    /// <summary>SQLite's own default: about 4 MiB of log at 4 KiB pages.</summary>
    public const int BackgroundAt = 1_000;

    /// <summary>
    /// About 16 MiB of log: past it the checkpointer makes the next writer start the log again (RESTART), which writers
    /// appending every fraction of a millisecond would otherwise never let happen (see <see cref="WalCheckpointer"/>).
    /// </summary>
    public const int RestartAt = 4_000;

    /// <summary>About 64 MiB of log: reached only when nothing checkpoints in the background.</summary>
    public const int InlineAt = 16_000;

    /// <summary>
    /// One database's wish for a checkpoint, reached from the hook through a weak handle (as <see cref="BusyWait.Count"/>,
    /// and like it never freed: one per database opened).
    /// </summary>
    public sealed class Wanted : WakeSignal
    {
        public Wanted() => Handle = GCHandle.ToIntPtr(GCHandle.Alloc(this, GCHandleType.Weak));

        internal IntPtr Handle { get; }
    }

    /// <summary>Replaces the connection's WAL hook, and with it SQLite's automatic checkpoint (built on the same hook).</summary>
    public static unsafe void Install(sqlite3 handle, Wanted wanted) =>
        _ = WalHook(handle.DangerousGetHandle(), &OnCommit, wanted.Handle);

    /// <param name="frames">Frames in the log after this commit.</param>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnCommit(IntPtr wanted, IntPtr db, IntPtr schema, int frames)
    {
        if (frames >= InlineAt) _ = Checkpoint(db, schema); // PASSIVE, as SQLite's own hook does it
        else if (frames >= BackgroundAt) (GCHandle.FromIntPtr(wanted).Target as Wanted)?.Wake(); // wakes while a pass runs make one more, never a queue
        return raw.SQLITE_OK;
    }

    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_wal_hook")]
    private static unsafe partial IntPtr WalHook(IntPtr db, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int, int> hook, IntPtr userData);

    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_wal_checkpoint")]
    private static partial int Checkpoint(IntPtr db, IntPtr schema);
}
