using Dapper;
using Hive.Shared.Errors;
using Microsoft.Data.Sqlite;

namespace Hive.Shared.Data;

/// <summary>
/// Start-up checks around <c>hive.db</c>, so that a database the host cannot use stops it with one line naming the
/// path instead of a stack trace, and a database that vanished or was emptied is not silently replaced by a new hive.
/// <para>
/// How a data dir "has been used" is known: after the first successful initialisation (migrations applied) the host
/// writes <c>&lt;DataDir&gt;/hive.initialized</c>. From then on a missing, zero-byte or schema-less <c>hive.db</c> is
/// refused. To start a new, empty hive there on purpose, delete that marker file.
/// </para>
/// </summary>
public static class DatabaseGuard
{
    public const string MarkerName = "hive.initialized";

    public static string MarkerOf(HivePaths paths) => Path.Combine(paths.DataDir, MarkerName);

    public static void BeforeOpen(HivePaths paths)
    {
        var db = paths.Database;
        if (Directory.Exists(db)) throw new HiveStartupException($"{db} is a directory, not a database file: move it away");
        if (!File.Exists(MarkerOf(paths))) return;
        if (!File.Exists(db))
            throw new HiveStartupException($"{db} is missing, but this data dir has held a hive ({MarkerOf(paths)} exists): " +
                                           $"restore hive.db from a backup, or delete {MarkerOf(paths)} to start a new, empty hive");
        if (new FileInfo(db).Length == 0)
            throw new HiveStartupException($"{db} is empty (0 bytes), but this data dir has held a hive ({MarkerOf(paths)} exists): " +
                                           $"restore hive.db from a backup, or delete {MarkerOf(paths)} to start a new, empty hive");
    }

    /// <summary>A non-empty file without the hive's schema, in a used data dir, is as lost as an empty one.</summary>
    public static void BeforeMigrations(HivePaths paths, IDb db)
    {
        if (!File.Exists(MarkerOf(paths))) return;
        using var connection = db.Open();
        var journaled = connection.QuerySingle<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
        if (journaled == 0)
            throw new HiveStartupException($"{paths.Database} holds no hive schema, but this data dir has held a hive ({MarkerOf(paths)} exists): " +
                                           $"restore hive.db from a backup, or delete {MarkerOf(paths)} to start a new, empty hive");
    }

    public static void AfterMigrations(HivePaths paths, TimeProvider clock)
    {
        var marker = MarkerOf(paths);
        if (File.Exists(marker)) return;
        File.WriteAllText(marker, $"initialized {clock.GetUtcNow():O}\nhive.db here must not be empty; delete this file only to start a new, empty hive\n");
        File.SetUnixFileMode(marker, HivePaths.PrivateFile);
    }

    /// <summary>The one line for a start-up storage failure; null for an exception that is not one (a bug keeps its trace).</summary>
    public static string? Describe(Exception exception, HivePaths paths) => exception switch
    {
        HiveStartupException => null, // already one line
        SqliteException e when (e.SqliteErrorCode & 0xFF) is 11 or 26 =>
            $"{paths.Database} is not a usable SQLite database ({e.Message.TrimEnd('.')}): restore it from a backup, " +
            $"or move it (with hive.db-wal and hive.db-shm) away and delete {MarkerOf(paths)} to start a new, empty hive",
        SqliteException e when (e.SqliteErrorCode & 0xFF) is 13 => $"the disk holding {paths.Database} is full ({e.Message.TrimEnd('.')})",
        SqliteException e when (e.SqliteErrorCode & 0xFF) is 8 or 10 or 14 =>
            $"cannot write {paths.Database} ({e.Message.TrimEnd('.')}): the database and the data dir {paths.DataDir} must be writable by the host",
        IOException or UnauthorizedAccessException => $"cannot prepare the data dir {paths.DataDir}: {exception.Message}",
        _ => null,
    };
}
