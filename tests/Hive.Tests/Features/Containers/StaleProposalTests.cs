using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// A proposal is a diff against the agent's file as it was; approving it once that file moved on would install the whole
/// old proposal and silently undo the other change. So it is refused (409, "stale: propose again") and denied as stale.
/// </summary>
public sealed class StaleProposalTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Approving_a_proposal_after_another_changed_the_agent_is_refused_as_stale_and_denied_and_the_other_change_stands()
    {
        const string name = "contested";
        await using var manager = await _hive.ConnectAsync("manager");
        await using var events = await _hive.OpenEventsAsync();
        try
        {
            await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            async Task<long> ProposeAsync(string purpose) =>
                (await manager.CallAsync(ManagerVerbs.ProposeConfig,
                    new ProposeConfigArgs(name, new AgentConfig(["/bin/sleep", "1000"], "process", null, purpose, null, null)))).ApprovalId;
            var first = await ProposeAsync("the first change");
            var second = await ProposeAsync("the second change"); // diffed against the same file as the first

            using (var approved = await _hive.Http.PostAsync($"/api/approvals/{first}/approve", null)) Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            // Over when applied (the deployed ref is written a moment before): until then a second approval is a plain "still deploying" 409.
            await HiveInstance.UntilAsync(async () => (await ApprovalsAsync(_hive, all: true)).Single(a => a.Id == first).AppliedAt is not null,
                TimeSpan.FromSeconds(30), "the first deploy");
            Assert.Contains($"refs/deployed/{first}", MetaGit.Refs(_hive.DataDir, "deployed"));
            var mainAfterFirst = MetaGit.In(_hive.DataDir, "rev-parse", "main").Trim();

            var (status, problem) = await PostAsync(_hive.Http, $"/api/approvals/{second}/approve");
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Equal("conflict", Problem.Of(problem).Code);
            Assert.Contains("stale: propose again", Problem.Of(problem).Detail);

            // Denied (not left pending where it could never be approved), by hive, and the requester told as for any decision.
            var decided = (await ApprovalsAsync(_hive, all: true)).Single(a => a.Id == second);
            Assert.Equal("denied", decided.Status);
            Assert.Equal("hive", decided.DecidedBy);
            Assert.StartsWith("stale:", decided.Reason);
            await events.WaitForPayloadAsync<ApprovalPayload>("approval_resolved", e => e.Approval.Id == second);
            var told = await MessageFromHiveAsync(manager, "approval_resolved", $"approval {second}:");
            Assert.Equal("denied", told.ExtraString("status"));
            Assert.StartsWith("stale:", told.ExtraString("reason"));
            await HiveInstance.Until(() => MetaGit.Refs(_hive.DataDir, "denied").Contains($"refs/denied/{second}"), what: "the denied ref");

            // The first change stands: main, the file and the agent all have it.
            Assert.Equal(mainAfterFirst, MetaGit.In(_hive.DataDir, "rev-parse", "main").Trim());
            Assert.Contains("the first change", MetaGit.In(_hive.DataDir, "show", $"main:agents/{name}.json"));
            Assert.Equal("the first change", (await RowAsync(_hive, name))!.Value.GetProperty("purpose").GetString());
            Assert.DoesNotContain($"refs/approved/{second}", MetaGit.Refs(_hive.DataDir, "approved"));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_proposal_stays_approvable_when_only_other_agents_files_changed_since()
    {
        string[] names = ["proposed-for", "spawned-meanwhile"];
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            await CreateAsync(_hive.Http, Shell(names[0], "process", "true"));
            var id = (await manager.CallAsync(ManagerVerbs.ProposeConfig,
                new ProposeConfigArgs(names[0], new AgentConfig(["/bin/sleep", "1001"], "process", null, null, null, null)))).ApprovalId;
            var proposedOn = MetaGit.In(_hive.DataDir, "rev-parse", "main").Trim();
            await CreateAsync(_hive.Http, Shell(names[1], "process", "true")); // main moves on, not this agent's file
            Assert.NotEqual(proposedOn, MetaGit.In(_hive.DataDir, "rev-parse", "main").Trim());

            var (status, approval) = await PostAsync(_hive.Http, $"/api/approvals/{id}/approve");
            Assert.True(status == HttpStatusCode.OK, approval.ToString());
            Assert.Equal("approved", approval.Deserialize<ApprovalView>(HiveJson.Options)!.Status);
            await HiveInstance.Until(() => MetaGit.Refs(_hive.DataDir, "deployed").Contains($"refs/deployed/{id}"), TimeSpan.FromSeconds(30), "the deploy");
            Assert.Contains("1001", MetaGit.In(_hive.DataDir, "show", $"main:agents/{names[0]}.json"));
            Assert.Contains(names[1], MetaGit.In(_hive.DataDir, "ls-tree", "--name-only", "main", "agents/"));
            // applied_at: the deploy is recorded as done.
            await HiveInstance.Until(() => ApprovalsAsync(_hive, all: true).Result.Single(a => a.Id == id).AppliedAt is not null, what: "applied_at");
        }
        finally
        {
            foreach (var name in names) await DestroyAsync(_hive, name);
        }
    }
}
