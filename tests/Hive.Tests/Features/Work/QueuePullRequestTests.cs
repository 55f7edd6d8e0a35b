using System.Net.Http.Json;
using Hive.Contracts.Json;
using Hive.Contracts.Work;
using Hive.Features.Containers;
using Hive.Tests.Features.Forge;
using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// On a forge repository, an approval opens a pull request as the ticket's owning agent (its own forge token) and the
/// merge queue marks it merged as the hive once it has landed the branch; the queue never waits on the forge: a request
/// the forge refused is a step, and the ticket lands all the same; approved again, the request still open is the answer.
/// The agent is external: the test is its hands.
/// </summary>
public sealed class QueuePullRequestTests
{
    [Fact]
    public async Task An_approval_opens_a_pull_request_as_the_owner_and_the_queue_marks_it_merged_once_landed()
    {
        await using var f = await ForgeHive.StartAsync([],
            forge => forge.AddRepo("acme", "project", new Dictionary<string, string> { ["README.md"] = "a project\n" }, "coder"),
            "--Hive:Work:MergeQueue:BatchWaitSeconds", "0");
        var hive = f.Hive;
        await hive.PutWorkflowAsync("reviewed", TestWorkflows.Reviewed("acme/project"));
        await hive.Service<MediatR.IMediator>().Send(new CreateAgent.Command("coder", null, Driver: "external", Capabilities: ["code"]));
        await HiveInstance.Until(() => File.Exists(f.TokenFileOf("coder")), TimeSpan.FromSeconds(30), "coder's forge token");
        await PauseAsync(hive, true);

        long id;
        string branch;
        await using (var coder = await hive.ConnectAsync("coder"))
        {
            (id, branch) = await hive.ClaimNewTicketAsync(coder, "reviewed");
            await CommitAsync(hive, "coder", new Dictionary<string, string> { ["hello.txt"] = "hello\n" }, "a greeting");
            Ok(await coder.CallAsync(new { op = "ticket_submit", id, summary = "said hello" }));
        }
        await HiveInstance.Until(() => hive.QueryDb<string>("SELECT phase FROM tickets WHERE id = @id", new { id }) == "review", TimeSpan.FromSeconds(30), "the ticket in review");

        // The forge refuses the first: a step says so, and the ticket waits in the queue all the same.
        f.Forge.Inject("POST /repos/{owner}/{repo}/pulls", FakeForgejo.Fault.ServerError);
        await ApproveAsync(hive, id);
        var failed = await UntilStepAsync(hive, id, "pull_request_failed", 1);
        Assert.Contains("opening a pull request", failed.Detail);
        Assert.Contains("500", failed.Detail);
        Assert.Equal("queued", (await EntryAsync(hive, id)).State);
        Assert.Empty(f.Forge.Pulls("acme", "project"));

        // Approved again (taken out, back to its review): opened now, as coder, of the ticket's branch onto main.
        f.Forge.Heal();
        await RemoveAsync(hive, id);
        await ApproveAsync(hive, id);
        await UntilStepAsync(hive, id, "pull_request", 1);
        var pull = Assert.Single(f.Forge.Pulls("acme", "project"));
        Assert.Equal(("coder", branch, "main", "Say hello", false), (pull.User, pull.Head, pull.Base, pull.Title, pull.Merged));
        Assert.Contains($"Hive ticket #{id}, approved by operator", pull.Body);
        var entry = await EntryAsync(hive, id);
        Assert.Equal((pull.Number, new Uri(f.Forge.Url, $"acme/project/pulls/{pull.Number}").ToString(), false), (entry.PullNumber, entry.PullUrl, entry.PullMerged));

        // Once more: the forge has it open for these branches (409), and that one is the answer; no second request.
        await RemoveAsync(hive, id);
        await ApproveAsync(hive, id);
        await UntilStepAsync(hive, id, "pull_request", 2);
        Assert.Single(f.Forge.Pulls("acme", "project"));
        Assert.Equal(pull.Number, (await EntryAsync(hive, id)).PullNumber);

        // The queue lands it (as the hive) and marks the request merged by its merge commit, which is on main.
        await PauseAsync(hive, false);
        await UntilStepAsync(hive, id, "pull_request_merged", 1);
        entry = await EntryAsync(hive, id);
        Assert.Equal(("landed", true), (entry.State, entry.PullMerged));
        pull = Assert.Single(f.Forge.Pulls("acme", "project"));
        Assert.Equal((true, "core", entry.MergeSha), (pull.Merged, pull.MergedBy, pull.MergeCommit));
        Assert.StartsWith($"{entry.MergeSha} Merge ticket #{id}", f.Forge.Log("acme", "project")[0], StringComparison.Ordinal);
        Assert.Equal("done", (await hive.TicketViewAsync(id)).Phase);
        Assert.Equal(1, f.Forge.Calls("POST /repos/{owner}/{repo}/pulls/{index}/merge"));
    }

    private static async Task ApproveAsync(HiveInstance hive, long id)
    {
        await HiveInstance.Until(() => hive.QueryDb<string?>("SELECT next_phase FROM tickets WHERE id = @id", new { id }) is null, TimeSpan.FromSeconds(30), "the ticket back in its review");
        var (status, body) = await hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{id}/reviews", new { verdict = "approve" });
        Assert.True(status == HttpStatusCode.Created, body.ToString());
    }

    private static async Task RemoveAsync(HiveInstance hive, long id)
    {
        using var response = await hive.Http.DeleteAsync($"/api/merge-queue/{id}");
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task PauseAsync(HiveInstance hive, bool paused)
    {
        var (status, body) = await hive.SendJsonAsync(HttpMethod.Post, paused ? "/api/merge-queue/pause" : "/api/merge-queue/resume", new { repository = "acme/project" });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
    }

    private static async Task<MergeQueueEntry> EntryAsync(HiveInstance hive, long id) =>
        (await hive.GetAsync<MergeQueueView>("/api/merge-queue")).Entries.Single(e => e.TicketId == id);

    /// <summary>Waits for the ticket's <paramref name="count"/>th step named <paramref name="step"/>; that step.</summary>
    private static async Task<MergeStep> UntilStepAsync(HiveInstance hive, long id, string step, int count)
    {
        List<MergeStep> seen = [];
        await HiveInstance.Until(() =>
        {
            seen = hive.GetAsync<MergeQueueView>("/api/merge-queue").GetAwaiter().GetResult().Steps.Where(s => s.TicketId == id && s.Step == step).ToList();
            return seen.Count >= count;
        }, TimeSpan.FromSeconds(60), $"step {step} #{count} of ticket {id}; the queue's log: {string.Join(" | ", hive.Logs.Lines.Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Select(l => $"{l.Category}: {l.Text}").TakeLast(8))}");
        return seen[0]; // newest first
    }
}
