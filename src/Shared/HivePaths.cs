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

    public string AgentStateDir(string agent) => Path.Combine(AgentsDir, agent, "state");
    public string AgentSocket(string agent) => Path.Combine(RunDir, agent + ".sock");

    /// <summary>Creates the fixed directories; the run dir is private to the host's user.</summary>
    public void EnsureCreated()
    {
        Directory.CreateDirectory(DataDir);
        Directory.CreateDirectory(AgentsDir);
        Directory.CreateDirectory(SharedDir);
        Directory.CreateDirectory(RunDir);
        File.SetUnixFileMode(RunDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
