namespace Hive.Tests.Features.Constellation;

/// <summary>With no constellation the hive is what it was; a bad setting stops the start with one line.</summary>
public sealed class ConstellationSettingsTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hive-constcfg-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => TestDirectories.DeleteAsync(_root);

    [Fact]
    public async Task Without_a_constellation_an_address_with_at_names_no_agent()
    {
        await using var host = await HostProcess.StartAsync(Path.Combine(_root, "data"), ["alice", "bob"]);
        await using var alice = await host.ConnectAsync("alice");
        var reply = await alice.CallAsync(new { op = "send", to = "bob@b", body = "hello" });
        Assert.Equal("not_found", reply.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Refuses_a_credentials_file_others_can_read_without_echoing_it()
    {
        var credentials = Path.Combine(_root, "credentials");
        await File.WriteAllTextAsync(credentials, "a:hunter2-secret\n");
        File.SetUnixFileMode(credentials, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var (exitCode, output, errors) = await HostProcess.RunToExitWithErrorsAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(Path.Combine(_root, "data"), ["alice"]),
             "--Hive:Constellation:Name", "a", "--Hive:Constellation:Broker:Host", "127.0.0.1", "--Hive:Constellation:CredentialsFile", credentials]);
        Assert.Equal(1, exitCode);
        Assert.Contains("hive: Hive:Constellation:CredentialsFile", errors, StringComparison.Ordinal);
        Assert.Contains("readable by others", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hive_keeps_the_name_it_first_started_with()
    {
        var credentials = Path.Combine(_root, "credentials");
        await File.WriteAllTextAsync(credentials, "a:secret\n");
        File.SetUnixFileMode(credentials, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var data = Path.Combine(_root, "data");
        // No broker listens on that port: the hive starts all the same (mail waits in its outbox).
        string[] Settings(string name) =>
            ["--Hive:Constellation:Name", name, "--Hive:Constellation:Broker:Host", "127.0.0.1",
             "--Hive:Constellation:Broker:Port", HostProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--Hive:Constellation:CredentialsFile", credentials];
        await using (var first = await HostProcess.StartAsync(data, ["alice"], extraArgs: Settings("a")))
        {
            await using var alice = await first.ConnectAsync("alice");
            Assert.True(await alice.SendAsync("bob@b", "queued while no broker is there") > 0);
            await first.TerminateAsync(TimeSpan.FromSeconds(20));
        }

        var (exitCode, _, errors) = await HostProcess.RunToExitWithErrorsAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(data, ["alice"]), .. Settings("z")]);
        Assert.Equal(1, exitCode);
        Assert.Contains("hive: Hive:Constellation:Name is z but this data dir's hive is named a", errors, StringComparison.Ordinal);
    }
}
