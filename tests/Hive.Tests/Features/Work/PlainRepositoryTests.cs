using System.Text;
using Hive.Contracts.Work;
using static Hive.Tests.Features.Containers.ContainersKit;
using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// Ticket workspaces on a repository that is not on a forge, with no forge configured: a local bare repository named by
/// its path, and an http repository that needs a credential (the fake Forgejo's git over HTTP, which the hive is not told
/// is a forge: to the hive it is any git server). A bubblewrap agent claims a ticket over its socket, commits in
/// <c>/work</c>, and its submit has the hive push the ticket's branch into the repository, where the gate finds it; the
/// credential is a secret the hive hands to git only, so the agent never holds it.
/// </summary>
public sealed class PlainRepositoryTests
{
    private static string Yaml(string repository) => $"""
        name: project
        {repository}
        phases:
          - name: backlog
            allowed_transitions: [build]
          - name: build
            needs: [code]
            expected_outputs:
              - kind: branch
              - kind: commit
            allowed_transitions: [done]
          - name: done
            terminal: true
        """;

    /// <summary>The agent waits until told its claim went through, commits a greeting (and a rename) in /work, and says what it saw.</summary>
    private const string Coder = """
        i=0; while [ ! -f "$HIVE_STATE_DIR/claimed" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
        out="$HIVE_STATE_DIR/seen.txt"
        cd /work && { echo "readme:$(cat README.md)"; echo "remotes:$(git remote)"; } > "$out" 2>&1; env > "$HIVE_STATE_DIR/env.txt"
        echo hello > greeting.txt && git add greeting.txt && git mv README.md README.txt && git -c user.name=coder -c user.email=coder@hive.invalid commit -q -m "a greeting" >> "$out" 2>&1
        echo "commit:$?" >> "$out"; echo done >> "$out"
        """;

    [Fact]
    public async Task A_local_bare_repository_gets_worktrees_and_the_submit_pushes_the_ticket_branch_into_it()
    {
        await using var repository = LocalRepository.Create(new Dictionary<string, string> { ["README.md"] = "hello from a plain repository\n" });
        await using var hive = await HiveInstance.StartAsync([]);
        await hive.PutWorkflowAsync("project", Yaml($"repository: {repository.Path}"));

        var (id, branch, seen) = await ClaimAndCommitAsync(hive);
        Assert.Contains("readme:hello from a plain repository", seen);
        Assert.Contains("remotes:\n", seen); // the clone names no remote: where it comes from is the hive's to know
        Assert.Contains("commit:0", seen);

        // The ticket's branch against where it started, as review reads it: the agent's commit, before any push.
        var diff = await hive.GetAsync<TicketDiff>($"/api/tickets/{id}/diff");
        Assert.Equal(branch, diff.Branch);
        Assert.NotEqual(diff.BaseSha, diff.HeadSha);
        Assert.Equal([new DiffFile("README.txt", "README.md", "R", 0, 0), new DiffFile("greeting.txt", null, "A", 1, 0)],
            diff.Files.OrderBy(f => f.Path, StringComparer.Ordinal));
        Assert.Contains("+hello", diff.Patch);
        Assert.False(diff.Truncated);
        var other = await hive.NewTicketAsync(new { title = "Never claimed", workflow = "project" });
        using (var none = await hive.Http.GetAsync($"/api/tickets/{other}/diff"))
        {
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
            Assert.Contains("has no branch", Problem.Of(JsonDocument.Parse(await none.Content.ReadAsStringAsync()).RootElement).Detail);
        }

        var coder = await hive.ConnectAsync("coder");
        await using (coder)
        {
            var submitted = Ok(await coder.CallAsync(new { op = "ticket_submit", id, summary = "said hello" }));
            Assert.True(submitted.GetProperty("moved").GetBoolean(), submitted.ToString());
        }
        var log = repository.Log(branch);
        Assert.Equal(2, log.Count);
        Assert.EndsWith(" a greeting", log[0]);
        Assert.Single(repository.Log("main")); // only the ticket's branch moved

        await HiveInstance.Until(() => hive.QueryDb<string?>("SELECT removed_at FROM ticket_workspaces WHERE ticket_id = @id", new { id }) is not null,
            TimeSpan.FromSeconds(30), "the done ticket's worktree removed");
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(hive.DataDir, "agents", "coder", "work")));
        await DestroyAsync(hive, "coder");
    }

    [Fact]
    public async Task An_http_repository_is_fetched_and_pushed_with_its_credential_which_no_agent_holds()
    {
        await using var server = await FakeForgejo.StartAsync();
        server.AddRepo("acme", "project", new Dictionary<string, string> { ["README.md"] = "hello over http\n" });
        await using var hive = await HiveInstance.StartAsync([]);
        var url = $"{server.Url.Scheme}://{FakeForgejo.AdminUser}@{server.Url.Authority}/acme/project.git";
        var yaml = Yaml($"repository:\n  url: {url}\n  credential: project-git");

        // Without the secret the repository cannot be reached: refused, and said why.
        var (status, problem) = await hive.SendJsonAsync(HttpMethod.Put, "/api/workflows/project", new { yaml });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("no secret named project-git", problem.GetProperty("errors").GetProperty("repository")[0].GetString());
        // With a wrong one, git's own reason.
        await PutSecretAsync(hive, "project-git", "hunter2-wrong");
        (status, problem) = await hive.SendJsonAsync(HttpMethod.Put, "/api/workflows/project", new { yaml });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("git cannot reach it", problem.GetProperty("errors").GetProperty("repository")[0].GetString());

        await PutSecretAsync(hive, "project-git", server.AdminPassword);
        await hive.PutWorkflowAsync("project", yaml);
        var (id, branch, seen) = await ClaimAndCommitAsync(hive);
        Assert.Contains("readme:hello over http", seen);
        Assert.Contains("commit:0", seen);
        await using (var coder = await hive.ConnectAsync("coder"))
            Assert.True(Ok(await coder.CallAsync(new { op = "ticket_submit", id, summary = "said hello" })).GetProperty("moved").GetBoolean());
        Assert.EndsWith(" a greeting", server.Log("acme", "project", branch)[0]);
        Assert.Contains(server.GitAuthorizations, a => a == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{FakeForgejo.AdminUser}:{server.AdminPassword}")));

        // The password was git's only: not in the agent's environment, its files, the hive's log or its state.
        var agentFiles = Directory.EnumerateFiles(Path.Combine(hive.DataDir, "agents", "coder"), "*", SearchOption.AllDirectories)
            .Where(f => new FileInfo(f).Length < 1_000_000).Select(File.ReadAllText);
        Assert.DoesNotContain(agentFiles, text => text.Contains(server.AdminPassword, StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(hive.DataDir, "agents", "coder", "state", "env.txt"))); // the agent's whole environment, among them
        hive.Logs.AssertTokenInNoLine(server.AdminPassword);
        Assert.DoesNotContain(server.AdminPassword, (await hive.GetJsonAsync("/api/state")).GetRawText());
        Assert.Empty(Directory.EnumerateFiles(hive.DataDir, ".forge-git-*")); // the secret's copy for git is gone
        await DestroyAsync(hive, "coder");
    }

    /// <summary>
    /// A bubblewrap agent <c>coder</c> that can code is offered a new ticket of <c>project</c>, claims it, and commits in
    /// <c>/work</c>; the ticket's id, its branch, and what the agent saw.
    /// </summary>
    private static async Task<(long Id, string Branch, string Seen)> ClaimAndCommitAsync(HiveInstance hive)
    {
        var (status, problem) = await PostAsync(hive.Http, "/api/agents", new
        {
            name = "coder", command = new[] { "/bin/sh", "-c", Coder + "\nexec sleep 1000" }, driver = "bubblewrap", restart = "never",
            capabilities = new[] { "code" },
        });
        Assert.True(status == HttpStatusCode.Created, problem.ToString());
        await using var coder = await hive.ConnectAsync("coder");
        var (id, branch) = await hive.ClaimNewTicketAsync(coder, "project");

        File.WriteAllText(Path.Combine(hive.DataDir, "agents", "coder", "state", "claimed"), "");
        var seenFile = Path.Combine(hive.DataDir, "agents", "coder", "state", "seen.txt");
        await HiveInstance.Until(() => File.Exists(seenFile) && File.ReadAllText(seenFile).Contains("done\n"), TimeSpan.FromSeconds(60), "coder's commit in /work");
        return (id, branch, await File.ReadAllTextAsync(seenFile));
    }

    private static async Task PutSecretAsync(HiveInstance hive, string name, string value)
    {
        using var response = await hive.Http.PutAsJsonAsync($"/api/secrets/{name}", new { value });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
}
