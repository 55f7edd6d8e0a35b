namespace Hive.Shared.Backup;

/// <summary>
/// What a slice adds to a backup besides the database (<see cref="TakeBackup"/>): its own files, copied into
/// <paramref name="into"/> at the paths they have under the data dir, so that the backup is a data dir to start a host on.
/// Each part copies under its own lock, so it is consistent in itself (not at the database's moment).
/// </summary>
public interface IBackupPart
{
    /// <summary>What the part holds, as the answer lists it (<c>secrets</c>, <c>meta</c>).</summary>
    string Name { get; }

    /// <summary>Copies the part's files under <paramref name="into"/> (dirs 0700, files 0600); false when it has none.</summary>
    Task<bool> CopyAsync(string into, CancellationToken cancellationToken);
}

/// <summary>Copies of files into a backup, private to the host's user whatever the umask.</summary>
public static class BackupFiles
{
    /// <summary>
    /// Copies the tree under <paramref name="from"/> (files the host wrote: no sockets or pipes) to <paramref name="to"/>;
    /// links are not followed (a link is copied as the same link).
    /// </summary>
    public static void CopyTree(string from, string to)
    {
        HivePaths.EnsurePrivateDirectory(to);
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            var target = Path.Combine(to, entry.Name);
            if (entry.LinkTarget is { } link) File.CreateSymbolicLink(target, link);
            else if (entry is DirectoryInfo) CopyTree(entry.FullName, target);
            else CopyFile(entry.FullName, target);
        }
    }

    public static void CopyFile(string from, string to)
    {
        using var source = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var target = new FileStream(to, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = HivePaths.PrivateFile,
        });
        source.CopyTo(target);
        target.Flush(flushToDisk: true);
    }
}
