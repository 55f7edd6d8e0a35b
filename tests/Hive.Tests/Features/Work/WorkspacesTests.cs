using System.Text;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Errors;
using Hive.Tests.Features.Forge;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// A workspace per ticket, through <see cref="TicketWorkspaces"/> itself (the claim verb that will call
/// it is the lead's): a hive on a fake forge whose repository <c>acme/project</c> the agents may push, and bubblewrap agents
/// already running when they "claim": the worktree shows at <c>/work</c> in the sandbox, the agent commits there with
/// git, the push puts that commit on the ticket's branch on the forge as the agent's own forge user, two agents never share
/// a worktree, one agent holds one at a time, and removal empties <c>/work</c> and reports the bytes it freed. The
/// disposal checks no token is in a log line, an event or a problem body.
/// </summary>
public sealed class WorkspacesTests
{
    private static readonly WorkRepository Repository = new("acme/project", null);

    [Theory]
    [InlineData("Add the greeting", "add-the-greeting")]
    [InlineData("  Été: réparer   l'API!! ", "ete-reparer-l-api")]
    [InlineData("日本語", "ticket")]
    [InlineData("", "ticket")]
    [InlineData("a very long title that goes on and on past forty characters", "a-very-long-title-that-goes-on-and-on-pa")]
    [InlineData("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yz", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")] // cut after a dash: no dash at the end
    public void The_slug_is_lowercase_ascii_and_dashes_and_at_most_40_characters(string title, string slug)
    {
        Assert.Equal(slug, WorkspaceNames.Slug(title));
        Assert.True(WorkspaceNames.Slug(title).Length <= WorkspaceNames.SlugLength);
        Assert.Equal($"ticket/7-{slug}", WorkspaceNames.BranchOf(7, title));
        Assert.True(WorkspaceNames.IsBranch(WorkspaceNames.BranchOf(7, title)));
    }

    [Fact]
    public async Task A_claimed_tickets_worktree_shows_at_work_in_a_running_sandbox_its_commit_is_pushed_and_removal_empties_it()
    {
        await using var f = await ForgeHive.StartAsync([],
            forge => forge.AddRepo("acme", "project", new Dictionary<string, string> { ["README.md"] = "hello from the forge\n" }, "alice", "bob"));
        var hive = f.Hive;
        // Both sandboxes run before any workspace exists: bwrap cannot add a mount later, so /work must already be there.
        // Each looks once told (as the claim's answer will tell it): a worktree is half made while git checks it out.
        const string script = """
            i=0; while [ ! -f "$HIVE_STATE_DIR/claimed" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
            out="$HIVE_STATE_DIR/seen.txt"
            cd /work && { echo "work:$HIVE_WORK_DIR"; echo "readme:$(cat README.md)"; echo "branch:$(git rev-parse --abbrev-ref HEAD 2>&1)"; } > "$out" 2>&1
            if [ "$HIVE_AGENT" = alice ]; then
              echo "from alice" > alice.txt && git add alice.txt \
                && git -c user.name=alice -c user.email=alice@hive.invalid commit -q -m "alice's change" >> "$out" 2>&1
              echo "commit:$?" >> "$out"
              git config core.fsmonitor "touch /tmp/owned" >> "$out" 2>&1; echo "config:$?" >> "$out"
              echo /etc > "$(git rev-parse --git-common-dir)/objects/info/alternates" 2>> "$out"; echo "alternates:$?" >> "$out"
            fi
            echo done >> "$out"
            """;
        await CreateAsync(hive.Http, Shell("alice", "bubblewrap", script));
        await CreateAsync(hive.Http, Shell("bob", "bubblewrap", script));
        await HiveInstance.Until(() => File.Exists(f.TokenFileOf("alice")) && File.Exists(f.TokenFileOf("bob")), TimeSpan.FromSeconds(30), "the agents' forge tokens");
        var (first, second, third) = (Ticket(hive, "Greet: été"), Ticket(hive, "Bob's part"), Ticket(hive, "Alice's next"));
        var workspaces = hive.Service<TicketWorkspaces>();

        var alice = await workspaces.EnsureAsync(first, "Greet: été", "alice", Repository, CancellationToken.None);
        Assert.Equal($"ticket/{first}-greet-ete", alice.Branch);
        Assert.Equal("/work", alice.Path);
        Assert.Equal(Path.Combine(hive.DataDir, "agents", "alice", "work"), alice.HostPath);
        Assert.True(alice.Bytes > 0);
        var again = await workspaces.EnsureAsync(first, "Greet: été", "alice", Repository, CancellationToken.None); // again: the same one
        Assert.Equal((alice.Branch, alice.HostPath, alice.BaseSha, alice.Bytes), (again.Branch, again.HostPath, again.BaseSha, again.Bytes));

        Claimed(hive, "alice");
        var seen = await SeenAsync(hive, "alice");
        Assert.Contains("work:/work", seen);
        Assert.Contains("readme:hello from the forge", seen);
        Assert.Contains($"branch:{alice.Branch}", seen);
        Assert.Contains("commit:0", seen);
        // The clone's config (what the host's own git, and every other agent's, obeys) is not the agent's to change: the
        // sandbox sees the clone read-only, and on a root host it is not the agent's group's to write besides.
        var bareConfig = Path.Combine(hive.DataDir, "work", "repos", "acme", "project.git", "config");
        Assert.DoesNotContain("config:0", seen);
        Assert.DoesNotContain("fsmonitor", File.ReadAllText(bareConfig));
        if (Environment.IsPrivilegedProcess)
        {
            Assert.False(File.GetUnixFileMode(bareConfig).HasFlag(UnixFileMode.GroupWrite));
            Assert.DoesNotContain("alternates:0", seen); // nor can it name alternates for the host's git to read
        }

        // Two agents, two tickets: two dirs, two branches.
        var bob = await workspaces.EnsureAsync(second, "Bob's part", "bob", Repository, CancellationToken.None);
        Assert.NotEqual(alice.HostPath, bob.HostPath);
        Assert.NotEqual(alice.Branch, bob.Branch);
        Claimed(hive, "bob");
        Assert.Contains($"branch:{bob.Branch}", await SeenAsync(hive, "bob"));
        // One workspace per agent at a time.
        var busy = await Assert.ThrowsAsync<ConflictException>(() => workspaces.EnsureAsync(third, "Alice's next", "alice", Repository, CancellationToken.None));
        Assert.Equal($"alice already works ticket {first} in /work", busy.Message);

        // The push: alice's commit, on her ticket's branch, on the forge, pushed with alice's own token.
        string? pushed;
        f.Forge.GitDelay = TimeSpan.FromMilliseconds(300); // a push lives long enough to be seen in /proc
        await using (var watch = new ProcWatch(() => f.Forge.IssuedTokens))
        {
            pushed = await workspaces.PushAsync(first, Repository, CancellationToken.None);
            Assert.Contains(watch.Seen, c => c.Contains("git", StringComparison.Ordinal) && c.Contains("push", StringComparison.Ordinal)); // it watched the push
            Assert.Empty(watch.Leaks); // no token on any command line or in any environment
        }
        f.Forge.GitDelay = TimeSpan.Zero;
        Assert.NotNull(pushed);
        Assert.Empty(Directory.EnumerateFiles(hive.DataDir, ".forge-git-*")); // the token's copy for git is gone
        var log = f.Forge.Log("acme", "project", alice.Branch);
        Assert.Equal(2, log.Count);
        Assert.Equal($"{pushed} alice's change", log[0]);
        Assert.Contains(f.Forge.GitAuthorizations, a => Basic(a).StartsWith("alice:", StringComparison.Ordinal));
        // Alternates someone named (an agent of a host that is not root can) are forgotten before the host's git reads the clone.
        var alternates = Path.Combine(hive.DataDir, "work", "store", "acme", "project.git", "objects", "info", "alternates");
        File.WriteAllText(alternates, "/etc\n");
        Assert.Null(await workspaces.PushAsync(second, Repository, CancellationToken.None)); // bob committed nothing: nothing to push
        Assert.False(File.Exists(alternates));
        Assert.Empty(f.Forge.Log("acme", "project", bob.Branch));

        // What the gates ask the forge.
        Assert.True(await workspaces.BranchExistsAsync(Repository, alice.Branch, CancellationToken.None));
        Assert.False(await workspaces.BranchExistsAsync(Repository, bob.Branch, CancellationToken.None));
        Assert.True(await workspaces.CommitExistsAsync(Repository, alice.Branch, pushed!, CancellationToken.None));
        Assert.True(await workspaces.CommitExistsAsync(Repository, alice.Branch, alice.BaseSha[..12], CancellationToken.None)); // an ancestor
        Assert.False(await workspaces.CommitExistsAsync(Repository, "main", pushed!, CancellationToken.None));
        Assert.False(await workspaces.CommitExistsAsync(Repository, alice.Branch, new string('a', 40), CancellationToken.None));

        // Disk use, for the operator.
        var listed = await f.GetJsonAsync("/api/workspaces");
        Assert.Equal(2, listed.GetArrayLength());
        Assert.All(listed.EnumerateArray(), w => Assert.True(w.GetProperty("bytes").GetInt64() > 0));
        var usage = await f.GetJsonAsync("/api/workspaces/usage");
        Assert.Equal(2, usage.GetProperty("workspaces").GetInt32());
        Assert.Equal(listed.EnumerateArray().Sum(w => w.GetProperty("bytes").GetInt64()), usage.GetProperty("bytes").GetInt64());

        // Done: the worktree goes (the dir the sandbox binds stays, empty), git forgets it, the branch stays on the forge.
        var bare = Path.Combine(hive.DataDir, "work", "repos", "acme", "project.git");
        await workspaces.RemoveAsync(first, CancellationToken.None);
        await workspaces.RemoveAsync(first, CancellationToken.None); // again: nothing to do
        Assert.True(Directory.Exists(alice.HostPath!));
        Assert.Empty(Directory.EnumerateFileSystemEntries(alice.HostPath!));
        Assert.Single(Directory.EnumerateDirectories(Path.Combine(bare, "worktrees"))); // bob's only
        var removed = workspaces.Get(first)!;
        Assert.NotNull(removed.RemovedAt);
        Assert.True(removed.Bytes > 0);
        Assert.Equal(pushed, removed.HeadSha);
        Assert.Equal(2, f.Forge.Log("acme", "project", alice.Branch).Count);
        Assert.Equal(1, (await f.GetJsonAsync("/api/workspaces/usage")).GetProperty("workspaces").GetInt32());

        // Free again: alice's next ticket, in the same /work of the same running sandbox.
        var next = await workspaces.EnsureAsync(third, "Alice's next", "alice", Repository, CancellationToken.None);
        Assert.Equal(alice.HostPath, next.HostPath);
        Assert.True(File.Exists(Path.Combine(next.HostPath!, "README.md")));
        Assert.False(File.Exists(Path.Combine(next.HostPath!, "alice.txt"))); // off main, not off alice's first branch
        await workspaces.RemoveAsync(third, CancellationToken.None);
        await workspaces.RemoveAsync(second, CancellationToken.None);

        // A ticket claimed again (by bob now) goes on from its branch, under the name it had.
        var reclaimed = await workspaces.EnsureAsync(first, "Renamed meanwhile", "bob", Repository, CancellationToken.None);
        Assert.Equal(alice.Branch, reclaimed.Branch);
        Assert.Equal(bob.HostPath, reclaimed.HostPath);
        Assert.Equal("from alice\n", File.ReadAllText(Path.Combine(reclaimed.HostPath!, "alice.txt")));
        await workspaces.RemoveAsync(first, CancellationToken.None);
        Assert.False(Directory.Exists(Path.Combine(bare, "worktrees")) && Directory.EnumerateDirectories(Path.Combine(bare, "worktrees")).Any()); // git drops the empty dir

        await DestroyAsync(hive, "alice");
        await DestroyAsync(hive, "bob");
    }

    [Fact]
    public async Task A_workspace_whose_worktree_vanished_is_made_again_and_the_start_up_reconcile_removes_a_done_tickets()
    {
        await using var f = await ForgeHive.StartAsync([],
            forge => forge.AddRepo("acme", "project", new Dictionary<string, string> { ["README.md"] = "hello\n" }, "carol"));
        var hive = f.Hive;
        await CreateAsync(hive.Http, Shell("carol", "process", "true"));
        await HiveInstance.Until(() => File.Exists(f.TokenFileOf("carol")), TimeSpan.FromSeconds(30), "carol's forge token");
        // A bubblewrap agent's /work is its workspace: nothing else can be mounted there (the driver says so at create and
        // at each start, after the mount rules found the path itself fine).
        var bubblewrap = hive.Service<Hive.Features.Containers.Runtime.DriverCatalog>().Find("bubblewrap")!;
        Assert.Contains("workspace at /work", bubblewrap.ProblemWith(["/bin/true"], ["/work/tools"]));
        Assert.Contains("workspace at /work", bubblewrap.ProblemWith(["/bin/true"], ["/work"]));
        Assert.DoesNotContain("workspace", bubblewrap.ProblemWith(["/bin/true"], ["/workshop"]) ?? "");
        var ticket = Ticket(hive, "Vanishing");
        var workspaces = hive.Service<TicketWorkspaces>();
        var made = await workspaces.EnsureAsync(ticket, "Vanishing", "carol", Repository, CancellationToken.None);

        // A crash mid-way, or a hand that emptied the dir: the next call makes it again, on the same branch.
        File.Delete(Path.Combine(made.HostPath!, ".git"));
        var again = await workspaces.EnsureAsync(ticket, "Vanishing", "carol", Repository, CancellationToken.None);
        Assert.Equal(made.Branch, again.Branch);
        Assert.True(File.Exists(Path.Combine(again.HostPath!, ".git")));

        hive.ExecuteDb($"UPDATE tickets SET phase = 'done' WHERE id = {ticket}");
        await workspaces.ReconcileAsync(CancellationToken.None);
        Assert.NotNull(workspaces.Get(ticket)!.RemovedAt);
        Assert.Empty(Directory.EnumerateFileSystemEntries(made.HostPath!));
        await DestroyAsync(hive, "carol");
    }

    /// <summary>A ticket row as the board would have made it (the board is the lead's; only its id matters here).</summary>
    private static long Ticket(HiveInstance hive, string title) => hive.QueryDb<long>("""
        INSERT INTO tickets (title, workflow, phase, created_by, created_at, updated_at, phase_entered_at)
        VALUES (@title, 'software_development', 'implement', 'operator', @now, @now, @now) RETURNING id
        """, new { title, now = DateTimeOffset.UtcNow.ToString("O") });

    private static void Claimed(HiveInstance hive, string agent) =>
        File.WriteAllText(Path.Combine(hive.DataDir, "agents", agent, "state", "claimed"), "");

    private static async Task<string> SeenAsync(HiveInstance hive, string agent)
    {
        var file = Path.Combine(hive.DataDir, "agents", agent, "state", "seen.txt");
        await HiveInstance.Until(() => File.Exists(file) && File.ReadAllText(file).Contains("done\n"), TimeSpan.FromSeconds(60), $"{agent} to look at /work");
        return await File.ReadAllTextAsync(file);
    }

    private static string Basic(string header) =>
        header.StartsWith("Basic ", StringComparison.Ordinal) ? Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..])) : "";
}
