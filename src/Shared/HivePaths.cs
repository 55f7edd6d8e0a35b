namespace Hive.Shared;

/// <summary>The hive's files on disk, in host form (DESIGN.md, "Files on disk").</summary>
public sealed class HivePaths
{
    public HivePaths(string dataDir)
    {
        DataDir = Path.GetFullPath(dataDir);
    }

    public string DataDir { get; }
    public string Database => Path.Combine(DataDir, "hive.db");
    public string AgentsDir => Path.Combine(DataDir, "agents");
    public string SharedDir => Path.Combine(DataDir, "shared");
    public string RunDir => Path.Combine(DataDir, "run");
    /// <summary>The meta repo (agents' configuration as git; Containers writes it, Forge pushes it).</summary>
    public string MetaDir => Path.Combine(DataDir, "meta");
    /// <summary>The work layer's files (Work): <c>repos/&lt;owner&gt;/&lt;name&gt;.git</c>, the shared bare clones of project repositories.</summary>
    public string WorkDir => Path.Combine(DataDir, "work");
    /// <summary>
    /// The bare clones the tickets' worktrees hang off; sandboxes bind it read-only at this same path (a worktree's
    /// <c>.git</c> names it), so a clone's <c>config</c> and hooks, which the host's own git obeys, are never an agent's to write.
    /// </summary>
    public string WorkReposDir => Path.Combine(DataDir, "work", "repos");
    /// <summary>
    /// What of each bare clone an agent's git writes (<c>&lt;owner&gt;/&lt;name&gt;.git/{objects,refs,logs,worktrees}</c>; the
    /// clone holds links to them): sandboxes bind it read-write at this same path.
    /// </summary>
    public string WorkStoreDir => Path.Combine(DataDir, "work", "store");

    public string AgentDir(string agent) => Path.Combine(AgentsDir, agent);
    public string AgentStateDir(string agent) => Path.Combine(AgentsDir, agent, "state");
    public string AgentLogDir(string agent) => Path.Combine(AgentsDir, agent, "logs");
    /// <summary>The agent's work dir: its ticket's worktree when it holds one, else empty; a sandbox sees it at <c>/work</c>.</summary>
    public string AgentWorkDir(string agent) => Path.Combine(AgentsDir, agent, "work");
    public string AgentSocket(string agent) => Path.Combine(RunDir, agent + ".sock");

    public const UnixFileMode PrivateDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the fixed directories, every one private to the host's user (0700, whatever the umask).</summary>
    public void EnsureCreated()
    {
        // The data dir holds every message: it is made private even when it already exists (an older hive made it 0755),
        // but a shared sticky directory such as /tmp is refused rather than locked.
        if (Directory.Exists(DataDir) && File.GetUnixFileMode(DataDir).HasFlag(UnixFileMode.StickyBit))
            throw new Errors.HiveStartupException($"Hive:DataDir {DataDir} is a shared directory (sticky bit set): give the hive a directory of its own");
        EnsurePrivateDirectory(DataDir);
        EnsurePrivateDirectory(AgentsDir);
        EnsurePrivateDirectory(SharedDir);
        EnsurePrivateDirectory(RunDir);
    }

    /// <summary>An agent's own dir and its state dir, both 0700.</summary>
    public void EnsureAgentDirs(string agent)
    {
        EnsurePrivateDirectory(AgentDir(agent));
        EnsurePrivateDirectory(AgentStateDir(agent));
        EnsurePrivateDirectory(AgentLogDir(agent));
    }

    /// <summary>Bytes under a dir, symlinks not followed (an agent's link to elsewhere is not its size); 0 for none.</summary>
    public static long BytesUnder(string dir)
    {
        if (!Directory.Exists(dir) || new DirectoryInfo(dir).LinkTarget is not null) return 0;
        try
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
            return new DirectoryInfo(dir).EnumerateFiles("*", options).Sum(f => f.Length);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Creates the directory (and missing parents) and sets it to 0700 explicitly, so the umask cannot widen it.</summary>
    public static void EnsurePrivateDirectory(string path)
    {
        if (File.Exists(path)) throw new Errors.HiveStartupException($"{path} is a file, not a directory: move it away");
        Directory.CreateDirectory(path, PrivateDir);
        File.SetUnixFileMode(path, PrivateDir);
    }
}
