using Hive.Tests.Features.Forge;
using static Hive.Tests.Features.Containers.ContainersKit;
using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// A ticket's workspace, through the agents' verbs: a workflow naming a repository on the fake forge; a
/// bubblewrap agent already running claims a ticket over its socket, the ticket's worktree shows at its <c>/work</c>, it
/// commits there, its submit pushes the branch as its own forge user and the gate finds the branch and the commit on the
/// forge, and the move to done removes the worktree (the branch stays on the forge).
/// </summary>
public sealed class WorkspaceFlowTests
{
    [Fact]
    public async Task A_claim_makes_the_worktree_at_work_the_submit_pushes_its_commit_and_done_removes_it()
    {
        await using var f = await ForgeHive.StartAsync([],
            forge => forge.AddRepo("acme", "project", new Dictionary<string, string> { ["README.md"] = "hello from the forge\n" }, "coder"));
        var hive = f.Hive;
        await hive.PutWorkflowAsync("project", """
            name: project
            repository: acme/project
            phases:
              - name: backlog
                allowed_transitions: [build]
              - name: build
                needs: [code]
                prompt: Change the project in /work and commit.
                expected_outputs:
                  - kind: branch
                  - kind: commit
                  - kind: file
                    path: greeting.txt
                allowed_transitions: [done]
              - name: done
                terminal: true
            """);
        // The agent looks once it is told its claim went through (the test speaks for it on its socket), then commits.
        const string script = """
            i=0; while [ ! -f "$HIVE_STATE_DIR/claimed" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
            out="$HIVE_STATE_DIR/seen.txt"
            cd /work && { echo "readme:$(cat README.md)"; echo "branch:$(git rev-parse --abbrev-ref HEAD 2>&1)"; } > "$out" 2>&1
            echo hello > greeting.txt && git add greeting.txt && git -c user.name=coder -c user.email=coder@hive.invalid commit -q -m "a greeting" >> "$out" 2>&1
            echo "commit:$?" >> "$out"; echo done >> "$out"
            """;
        var (status, problem) = await PostAsync(hive.Http, "/api/agents", new
        {
            name = "coder", command = new[] { "/bin/sh", "-c", script + "\nexec sleep 1000" }, driver = "bubblewrap", restart = "never",
            capabilities = new[] { "code" },
        });
        Assert.True(status == HttpStatusCode.Created, problem.ToString());
        await HiveInstance.Until(() => File.Exists(f.TokenFileOf("coder")), TimeSpan.FromSeconds(30), "coder's forge token");
        await using var coder = await hive.ConnectAsync("coder");

        var (id, branch) = await hive.ClaimNewTicketAsync(coder, "project");

        // Without a commit the gate finds none on the forge, and says so.
        var early = Refused(await coder.CallAsync(new { op = "ticket_submit", id, summary = "nothing yet" }), "conflict");
        Assert.Contains(early.GetProperty("errors").GetProperty("missing").EnumerateArray(), m => m.GetString()!.StartsWith("commit", StringComparison.Ordinal));

        File.WriteAllText(Path.Combine(hive.DataDir, "agents", "coder", "state", "claimed"), "");
        var seenFile = Path.Combine(hive.DataDir, "agents", "coder", "state", "seen.txt");
        await HiveInstance.Until(() => File.Exists(seenFile) && File.ReadAllText(seenFile).Contains("done\n"), TimeSpan.FromSeconds(60), "coder's commit in /work");
        var seen = await File.ReadAllTextAsync(seenFile);
        Assert.Contains("readme:hello from the forge", seen);
        Assert.Contains($"branch:{branch}", seen);
        Assert.Contains("commit:0", seen);

        var submitted = Ok(await coder.CallAsync(new { op = "ticket_submit", id, summary = "said hello" }));
        Assert.True(submitted.GetProperty("moved").GetBoolean(), submitted.ToString());
        Assert.True(submitted.GetProperty("ticket").GetProperty("done").GetBoolean());
        var log = f.Forge.Log("acme", "project", branch);
        Assert.Contains(log, l => l.EndsWith(" a greeting", StringComparison.Ordinal));

        await HiveInstance.Until(() => hive.QueryDb<string?>("SELECT removed_at FROM ticket_workspaces WHERE ticket_id = @id", new { id }) is not null,
            TimeSpan.FromSeconds(30), "the done ticket's worktree removed");
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(hive.DataDir, "agents", "coder", "work")));
        Assert.Contains(f.Forge.Log("acme", "project", branch), l => l.EndsWith(" a greeting", StringComparison.Ordinal)); // the branch stays
    }
}
