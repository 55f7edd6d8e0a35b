namespace Hive.Tests.Host;

/// <summary>
/// A configured value the host cannot read or use ends the start with one line naming its key and exit 1: not an abort
/// (134) with a stack trace, whichever part of the host reads it (registration, a feature's validation, a hosted service).
/// </summary>
public sealed class ConfigurationRefusalTests : IAsyncLifetime
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("hive-config-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await TestDirectories.DeleteAsync(_dataDir);

    [Theory]
    [InlineData("Hive:Reminders:TickSeconds", "abc", "hive: Hive:Reminders:TickSeconds: not a number")]
    [InlineData("Hive:Limits:MaxEventStreams", "many", "hive: Hive:Limits:MaxEventStreams: not a whole number")]
    [InlineData("Hive:TurnStats:RetainDays", "0", "hive: Hive:TurnStats:RetainDays must be between 1 and 36500")]
    [InlineData("Hive:Governance:WarnPercent", "500", "hive: Hive:Governance:WarnPercent must be 1 to 100")]
    public async Task A_bad_value_ends_the_start_with_one_line_naming_its_key_and_exit_1(string key, string value, string line)
    {
        var (exitCode, output, errors) = await HostProcess.RunToExitWithErrorsAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(_dataDir, ["alice"]), $"--{key}", value]);

        Assert.True(exitCode == 1, $"exit {exitCode}:\n{output}");
        Assert.Equal(line, errors.Trim());
        Assert.DoesNotContain("Exception", output);
        Assert.DoesNotContain("   at ", output);
    }
}
