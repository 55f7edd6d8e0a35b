using Hive.Host;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Socket;
using Microsoft.Extensions.Options;

namespace Hive.Tests.Shared;

public sealed class SocketFileModeTests
{
    [Theory]
    [InlineData("0600", UnixFileMode.UserRead | UnixFileMode.UserWrite)]
    [InlineData("600", UnixFileMode.UserRead | UnixFileMode.UserWrite)]
    [InlineData("0660", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite)]
    public void Accepts_owner_and_group_modes(string text, UnixFileMode expected)
    {
        Assert.True(SocketFileMode.TryParse(text, out var mode, out _));
        Assert.Equal(expected, mode);
    }

    [Theory]
    [InlineData("0666")] // others could speak as the agent
    [InlineData("0700")] // execute bits
    [InlineData("0400")] // the owner cannot write
    [InlineData("04600")]
    [InlineData("0680")]
    [InlineData("rw-------")]
    [InlineData("")]
    public void Refuses_anything_else_naming_the_setting(string text)
    {
        var result = new SocketFileMode.Validation().Validate(null, new HiveOptions { Sockets = { FileMode = text } });
        Assert.True(result.Failed);
        Assert.Contains("Hive:Sockets:FileMode", result.FailureMessage);
    }

    [Fact]
    public void The_host_refuses_to_start_with_a_bad_mode()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);
        var error = Assert.Throws<OptionsValidationException>(() =>
            HiveHost.Build([.. HiveInstance.ArgsFor(dataDir, ["alice"]), "--Hive:Sockets:FileMode", "0666"]));
        Assert.Contains("Hive:Sockets:FileMode '0666'", error.Message);
        Assert.False(Directory.Exists(dataDir)); // refused before anything was laid out
    }

    [Fact]
    public async Task Sockets_take_the_configured_mode_including_those_added_at_run_time()
    {
        const UnixFileMode groupToo = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
        // A hive of its own: another socket file mode.
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Sockets:FileMode", "0660");
        Assert.Equal(groupToo, File.GetUnixFileMode(hive.SocketPath("alice")));
        await hive.Service<AgentDirectory>().AddAsync("erin");
        Assert.Equal(groupToo, File.GetUnixFileMode(hive.SocketPath("erin")));
    }
}
