using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// Every agent the hive runs finds the host's own <c>hivectl</c> on its PATH, talking on its socket, under either driver;
/// and a PATH the agent was configured with is the one it gets (first), not replaced by the host's.
/// </summary>
public sealed class AgentToolsTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task Hivectl_is_on_every_agents_path_and_speaks_for_it(string driver)
    {
        var name = $"tooled-{driver[..4]}";
        await using var events = await _hive.OpenEventsAsync();
        try
        {
            await CreateAsync(_hive.Http, Shell(name, driver,
                "hivectl whoami > \"$HIVE_STATE_DIR/who.txt\" 2>&1; hivectl send operator \"hello from $HIVE_AGENT\" >> \"$HIVE_STATE_DIR/who.txt\" 2>&1; echo done >> \"$HIVE_STATE_DIR/who.txt\""));
            var sent = await NextEventAsync(events, "sent", e => e.GetProperty("from").GetString() == name);
            Assert.Equal($"hello from {name}", sent.GetProperty("body").GetString());
            Assert.Equal("operator", sent.GetProperty("to").GetString());
            var who = Path.Combine(_hive.DataDir, "agents", name, "state", "who.txt");
            await HiveInstance.Until(() => File.Exists(who) && File.ReadAllText(who).Contains("done"), TimeSpan.FromSeconds(30), "hivectl's answers");
            Assert.StartsWith(name, (await File.ReadAllTextAsync(who)).Trim());
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task An_agents_command_may_be_hivectl_itself_the_harness_running_its_turns(string driver)
    {
        var name = $"harness-{driver[..4]}";
        try
        {
            var row = await CreateAsync(_hive.Http, new
            {
                name, driver, command = new[] { "hivectl", "run", "--", "/bin/sh", "-c", "cat >> \"$HIVE_STATE_DIR/turns.txt\"" },
            });
            Assert.Equal("running", row.State());
            using var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body = "a turn for the harness" });
            var turns = Path.Combine(_hive.DataDir, "agents", name, "state", "turns.txt");
            await HiveInstance.Until(() => File.Exists(turns) && File.ReadAllText(turns).Contains("a turn for the harness"), TimeSpan.FromSeconds(30),
                "the harness to hand the message to its command");
            var log = await _hive.Http.GetStringAsync($"/api/agents/{name}/logs");
            Assert.Contains("under " + driver, log);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task A_configured_path_is_the_agents_first_and_hivectl_stays_on_it(string driver)
    {
        var name = $"pathed-{driver[..4]}";
        try
        {
            var body = new
            {
                name, driver, restart = "on-failure",
                command = new[] { "/bin/sh", "-c", "{ echo \"$PATH\"; command -v hivectl; echo done; } > \"$HIVE_STATE_DIR/path.txt\"\nexec sleep 1000" },
                env = new Dictionary<string, string> { ["PATH"] = "/opt/own-tools/bin:/usr/bin" },
            };
            await CreateAsync(_hive.Http, body);
            var file = Path.Combine(_hive.DataDir, "agents", name, "state", "path.txt");
            await HiveInstance.Until(() => File.Exists(file) && File.ReadAllText(file).Contains("done"), TimeSpan.FromSeconds(30), "the agent's PATH");
            var lines = await File.ReadAllLinesAsync(file);
            Assert.StartsWith("/opt/own-tools/bin:/usr/bin:", lines[0]);
            Assert.EndsWith("/bin/hivectl", lines[1]);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }
}
