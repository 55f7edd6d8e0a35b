using Hive.Features.StateFiles;
using Hive.Shared;

namespace Hive.Tests.Features.StateFiles;

/// <summary>
/// StateFiles' writer replacing a file in an agent's state dir whole (an agent's forge token): 0600, nothing at the name
/// until committed, a link the agent planted at the name replaced and never followed, nothing left when abandoned.
/// </summary>
public sealed class StateFileReplaceTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("hive-replace-").FullName;
    private readonly string _outside = Path.Combine(Path.GetTempPath(), $"hive-replace-target-{Guid.NewGuid():N}");
    private readonly IStateFileWriter _writer;

    public StateFileReplaceTests()
    {
        var paths = new HivePaths(_dataDir);
        Directory.CreateDirectory(paths.AgentStateDir("alice"));
        _writer = new StateFileWriter(paths);
    }

    private string StateDir => Path.Combine(_dataDir, "agents", "alice", "state");

    public void Dispose()
    {
        Directory.Delete(_dataDir, recursive: true);
        File.Delete(_outside);
    }

    [Fact]
    public void A_committed_replacement_is_the_whole_new_file_0600_and_nothing_else_is_left()
    {
        File.WriteAllText(Path.Combine(StateDir, "token"), "old");
        using (var pending = _writer.PrepareReplace("alice", "token"))
        {
            Assert.Equal("old", File.ReadAllText(Path.Combine(StateDir, "token"))); // nothing changes before the commit
            pending.Commit("new");
        }
        Assert.Equal("new", File.ReadAllText(Path.Combine(StateDir, "token")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(StateDir, "token")));
        Assert.Equal(["token"], Directory.GetFiles(StateDir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_link_planted_at_the_name_is_replaced_never_followed()
    {
        File.WriteAllText(_outside, "the host's own file");
        File.CreateSymbolicLink(Path.Combine(StateDir, "token"), _outside);
        using (var pending = _writer.PrepareReplace("alice", "token")) pending.Commit("secret");
        Assert.Equal("the host's own file", File.ReadAllText(_outside));
        Assert.Null(new FileInfo(Path.Combine(StateDir, "token")).LinkTarget);
        Assert.Equal("secret", File.ReadAllText(Path.Combine(StateDir, "token")));
    }

    [Fact]
    public void An_abandoned_replacement_leaves_nothing_and_a_state_dir_that_is_a_link_is_refused()
    {
        using (_writer.PrepareReplace("alice", "token")) { }
        Assert.Empty(Directory.GetFileSystemEntries(StateDir));

        Directory.Delete(StateDir);
        Directory.CreateDirectory(_outside + ".d");
        try
        {
            Directory.CreateSymbolicLink(StateDir, _outside + ".d");
            Assert.Throws<IOException>(() => _writer.PrepareReplace("alice", "token"));
            Assert.Empty(Directory.GetFileSystemEntries(_outside + ".d"));
        }
        finally
        {
            Directory.Delete(_outside + ".d", recursive: true);
        }
    }
}
