namespace Hive.Shared.Data;

/// <summary>
/// hive.db and its -wal/-shm files are the host user's alone (0600), whatever the umask: every message is in them.
/// </summary>
public static class DatabaseFileModes
{
    /// <summary>
    /// Creates the database file 0600 before SQLite first opens it (an empty file is an empty database), and narrows an
    /// existing one. SQLite creates -wal and -shm with the database file's permissions, so they follow.
    /// </summary>
    public static void BeforeOpen(string databasePath)
    {
        using (new FileStream(databasePath, new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = HivePaths.PrivateFile,
        }))
        {
        }
        File.SetUnixFileMode(databasePath, HivePaths.PrivateFile);
    }

    /// <summary>-wal and -shm left by an older hive keep their old modes (SQLite reuses them): narrow them once WAL is on.</summary>
    public static void AfterWriteAheadLog(string databasePath)
    {
        foreach (var suffix in (string[])["-wal", "-shm"])
        {
            var path = databasePath + suffix;
            if (File.Exists(path)) File.SetUnixFileMode(path, HivePaths.PrivateFile);
        }
    }
}
