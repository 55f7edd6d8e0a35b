using Hive.Features.Containers;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Tests.Features.Gateway;
using MediatR;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// A create whose caller gives up while it runs (the HTTP client gone, the request cancelled): its start either goes on
/// to a recorded agent or launches nothing, never a process with no owner. The token is cancelled as the agent joins the
/// directory, after its row is registered and before its start, so the start meets a cancelled token every time. The
/// launcher is one queue: once a later agent is running, a launch queued by the given-up create would have run too.
/// </summary>
public sealed class AbandonedCreateTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_create_given_up_once_its_agent_joined_leaves_no_process_no_cgroup_and_no_row()
    {
        const string name = "given-up", later = "given-up-later";
        using var giveUp = new CancellationTokenSource();
        using (_hive.Service<IAgentDirectory>().Subscribe(change =>
               {
                   if (change.Kind == AgentChangeKind.Added && change.Agent.Name == name) giveUp.Cancel();
               }))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                _hive.Service<IMediator>().Send(new CreateAgent.Command(name, ["sleep", "100000"], Driver: "process"), giveUp.Token));
        }
        try
        {
            Assert.True(giveUp.IsCancellationRequested, "the agent joined the directory before the create gave up");
            await CreateAsync(_hive.Http, new { name = later, command = new[] { "sleep", "100000" }, driver = "process", restart = "never" });

            Assert.Empty(GatewayKit.ProcessesOf(name));
            Assert.Null(_hive.Service<AgentCgroups>().RunningOf(name));
            using var row = await _hive.Http.GetAsync($"/api/agents/{name}");
            Assert.Equal(HttpStatusCode.NotFound, row.StatusCode);
        }
        finally
        {
            await DestroyAsync(_hive, later);
            foreach (var pid in GatewayKit.ProcessesOf(name)) ProcessTable.Kill(pid); // only when the create left one behind
        }
    }
}
