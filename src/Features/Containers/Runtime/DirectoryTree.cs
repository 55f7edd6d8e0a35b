namespace Hive.Features.Containers.Runtime;

/// <summary>Deletes what the host made in trees an agent may have written into (a tombstone) or bound things on (a view).</summary>
internal static class DirectoryTree
{
    /// <summary>Deletes <paramref name="dir"/> and all in it without following a single symlink: a link is removed, never its target.</summary>
    public static void Delete(string dir)
    {
        foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = false }))
        {
            if (entry.LinkTarget is null && entry is DirectoryInfo sub) Delete(sub.FullName);
            else entry.Delete(); // a file, or a link itself
        }
        Directory.Delete(dir);
    }
}
