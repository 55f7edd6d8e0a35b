using Hive.Features.Containers;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The manager run by Hive (created with a command) instead of from outside: its socket stays the one it had, it answers as
/// the manager, it comes back with the host, and a second takeover is refused.
/// </summary>
public sealed class ManagedManagerTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync([]);

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    [Fact]
    public async Task The_manager_created_with_a_command_runs_answers_as_the_manager_and_comes_back_with_the_host()
    {
        var before = await RowAsync(_hive, "manager");
        Assert.Equal("external", before!.Value.GetProperty("driver").GetString());

        var row = await CreateAsync(_hive.Http, SampleAgent.Body("manager", "process"));
        Assert.Equal("manager", row.GetProperty("kind").GetString());
        Assert.Equal("process", row.GetProperty("driver").GetString());
        Assert.Equal("running", row.State());

        // The sample agent answers every message: the reply comes from the manager.
        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "manager", body = "hello" }))
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'manager' AND recipient = 'operator'") > 0,
            TimeSpan.FromSeconds(30), "the manager's reply");

        var (status, problem) = await PostAsync(_hive.Http, "/api/agents", SampleAgent.Body("manager", "process"));
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("run by Hive already", problem.GetProperty("detail").GetString());

        await _hive.RestartAsync();
        await _hive.Service<AgentsStartUp>().Reconciled;
        await HiveInstance.Until(() => RowAsync(_hive, "manager").GetAwaiter().GetResult() is { } r && r.State() == "running" && r.Pid() is not null,
            TimeSpan.FromSeconds(30), "the manager running again after the restart");
        var after = (await RowAsync(_hive, "manager"))!.Value;
        Assert.Equal("process", after.GetProperty("driver").GetString());
        await StopAsync();
    }

    private async Task StopAsync()
    {
        var (status, _) = await PostAsync(_hive.Http, "/api/agents/manager/stop");
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
