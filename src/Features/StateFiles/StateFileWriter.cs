using System.Text;
using Hive.Shared;
using Hive.Shared.Agents;
using Microsoft.Win32.SafeHandles;

namespace Hive.Features.StateFiles;

/// <summary>
/// Writes new files into an agent's state dir for another feature (a long reminder's body, say). The agent owns that
/// dir and may have planted links in it, so the write goes through descriptors that never follow one; the path it
/// answers is the one the agent and the allow-list know the file by.
/// </summary>
public interface IStateFileWriter
{
    /// <summary>
    /// Creates <c>&lt;agent's state dir&gt;/&lt;directory&gt;/&lt;name&gt;</c> (0600; the directory 0700 when missing) with
    /// <paramref name="content"/>, synced to disk; returns <c>/agents/&lt;agent&gt;/state/&lt;directory&gt;/&lt;name&gt;</c>.
    /// IOException when it cannot (the name exists, the directory is a link, the disk is full).
    /// </summary>
    string WriteNew(string agent, string directory, string name, string content);

    /// <summary>
    /// Removes a file <see cref="WriteNew"/> made (same checks: the directory is never a link); false when it is already
    /// gone. IOException when it cannot be removed.
    /// </summary>
    bool Delete(string agent, string directory, string name);

    /// <summary>
    /// A file being written to replace <c>&lt;agent's state dir&gt;/&lt;name&gt;</c> whole: a 0600 temp file beside it is
    /// made now (so a state dir that cannot take the file is known before the content is), given to the agent;
    /// <see cref="IPendingStateFile.Commit"/> writes, syncs and renames it over the name (a link there is replaced, never
    /// followed); disposing removes what was not committed. IOException when it cannot.
    /// </summary>
    IPendingStateFile PrepareReplace(string agent, string name);
}

/// <summary>A replacement prepared by <see cref="IStateFileWriter.PrepareReplace"/>.</summary>
public interface IPendingStateFile : IDisposable
{
    /// <summary>Writes <paramref name="content"/>, syncs it, and renames it into place. IOException when it cannot.</summary>
    void Commit(string content);
}

internal sealed class StateFileWriter(HivePaths paths) : IStateFileWriter
{
    public string WriteNew(string agent, string directory, string name, string content)
    {
        RequireComponents(agent, directory, name);
        using (var handle = Native.CreateNew(paths.AgentStateDir(agent), directory, name))
        using (var stream = new FileStream(handle, FileAccess.Write))
        {
            stream.Write(Encoding.UTF8.GetBytes(content));
            stream.Flush(flushToDisk: true);
        }
        return $"/agents/{agent}/state/{directory}/{name}";
    }

    public bool Delete(string agent, string directory, string name)
    {
        RequireComponents(agent, directory, name);
        return Native.DeleteAt(paths.AgentStateDir(agent), directory, name);
    }

    public IPendingStateFile PrepareReplace(string agent, string name)
    {
        RequireComponents(agent, "state", name);
        var (directory, file, temp) = Native.CreateTempBeside(paths.AgentStateDir(agent), name);
        return new PendingStateFile(directory, file, temp, name);
    }

    private sealed class PendingStateFile(SafeFileHandle directory, SafeFileHandle file, string temp, string name) : IPendingStateFile
    {
        private bool _committed;

        public void Commit(string content)
        {
            using (var stream = new FileStream(file, FileAccess.Write))
            {
                stream.Write(Encoding.UTF8.GetBytes(content));
                stream.Flush(flushToDisk: true);
            }
            Native.RenameWithin(directory, temp, name);
            _committed = true;
        }

        public void Dispose()
        {
            file.Dispose();
            if (!_committed) Native.UnlinkWithin(directory, temp);
            directory.Dispose();
        }
    }

    private static void RequireComponents(string agent, string directory, string name)
    {
        if (!AgentNames.IsWellFormed(agent)) throw new ArgumentException($"'{agent}' is not an agent name", nameof(agent));
        foreach (var part in new[] { directory, name })
            if (part.Length == 0 || part is "." or ".." || part.Contains('/') || part.Contains('\0'))
                throw new ArgumentException($"'{part}' is not one path component");
    }
}
