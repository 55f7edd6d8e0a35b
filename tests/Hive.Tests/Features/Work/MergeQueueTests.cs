using System.Net.Http.Json;
using Hive.Contracts.Json;
using Hive.Contracts.Work;
using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// The merge queue, with a local bare repository and no forge: approved tickets queue; a batch of four whose third
/// breaks the repository's own check (<c>sh check.sh</c>, run as a sandboxed job) lands the other three (the base's
/// first-parent history holds exactly their three merges) and sends the third back with the check's output; a ticket
/// whose branch conflicts with the base goes back with its files; and a host SIGKILLed during a check, or during the
/// base's push, leaves the base advanced or not, never half, and the queue goes on without merging anything twice.
/// The agents are external: the test is their hands.
/// </summary>
public sealed class MergeQueueTests
{
    /// <summary>The repository's test: red while a file named BROKEN is in the tree.</summary>
    private const string Check = """
        if [ -e BROKEN ]; then echo "found BROKEN: the build is red"; exit 1; fi
        echo "checked: $(ls | tr '\n' ' ')"
        """;

    private static readonly Dictionary<string, string> Seed = new() { ["README.md"] = "a project\nsecond line\n", ["check.sh"] = Check };

    [Fact]
    public async Task A_batch_of_four_lands_the_three_that_pass_sends_the_breaking_one_back_and_a_conflict_goes_back_with_its_files()
    {
        await using var repository = LocalRepository.Create(Seed);
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Work:MergeQueue:BatchWaitSeconds", "0", "--Hive:Work:MergeQueue:MaxBatchSize", "4");
        await hive.PutWorkflowAsync("checked", CheckedWorkflow(repository.Path, "[sh, check.sh]"));
        await PauseAsync(hive, repository.Path, true); // the four gather, then go as one batch

        var tickets = new List<long>();
        var agents = new List<string>();
        foreach (var (n, files) in new[]
        {
            (1, new Dictionary<string, string> { ["one.txt"] = "1\n" }),
            (2, new Dictionary<string, string> { ["two.txt"] = "2\n" }),
            (3, new Dictionary<string, string> { ["three.txt"] = "3\n", ["BROKEN"] = "oops\n" }),
            (4, new Dictionary<string, string> { ["four.txt"] = "4\n" }),
        })
        {
            var (id, agent) = await hive.BuildAndApproveAsync($"a{n}", "checked", files);
            tickets.Add(id);
            agents.Add(agent);
        }
        var queue = await hive.GetAsync<MergeQueueView>("/api/merge-queue");
        Assert.Equal(tickets.Select((t, i) => (t, "queued", (int?)(i + 1))), queue.Entries.Select(e => (e.TicketId, e.State, e.Position)));
        foreach (var id in tickets)
        {
            var ticket = await hive.TicketViewAsync(id);
            Assert.Equal(("review", "done"), (ticket.Phase, ticket.NextPhase)); // approved: it waits in review for the queue
        }
        Assert.Equal(["first commit"], Subjects(repository.Path));

        await PauseAsync(hive, repository.Path, false);
        var (landed, broken) = (new[] { tickets[0], tickets[1], tickets[3] }, tickets[2]);
        queue = await UntilQueueAsync(hive, q => q.Entries.Count(e => e.State is "landed" or "returned") == 4, "the batch of four to end");
        Assert.Equal(landed.Order(), queue.Entries.Where(e => e.State == "landed").Select(e => e.TicketId).Order());
        var returned = queue.Entries.Single(e => e.State == "returned");
        Assert.Equal(broken, returned.TicketId);
        Assert.Contains("the check exited with code 1", returned.Reason);

        // The base holds exactly the three merges, in queue order, and the tree the check passed.
        Assert.Equal([.. landed.Select(id => $"Merge ticket #{id}: Say hello").Reverse(), "first commit"], Subjects(repository.Path));
        Assert.Equal(["README.md", "check.sh", "four.txt", "one.txt", "two.txt"], Tree(repository.Path));
        // The batch went red and was split until the breaking ticket was alone; its check's last lines are kept.
        Assert.Contains(queue.Batches, b => b.State == "red" && b.Tickets.Count == 4 && b.CheckTail!.Contains("found BROKEN"));
        Assert.Contains(queue.Batches, b => b.State == "red" && b.Tickets.SequenceEqual([broken]));
        Assert.Equal(2, queue.Batches.Count(b => b.State == "landed"));
        Assert.Contains(queue.Batches, b => b.State == "landed" && b.CheckTail!.Contains("checked: README.md check.sh one.txt two.txt", StringComparison.Ordinal));

        foreach (var id in landed) Assert.Equal("done", (await hive.TicketViewAsync(id)).Phase);
        var back = await hive.TicketViewAsync(broken);
        Assert.Equal(("build", (string?)null), (back.Phase, back.NextPhase));
        Assert.Contains(back.Context, c => c.Summary!.Contains("found BROKEN: the build is red", StringComparison.Ordinal));
        await using (var a3 = await hive.ConnectAsync(agents[2]))
        {
            var message = await NextOfKindAsync(a3, "merge_returned");
            Assert.Equal(broken, message.GetProperty("ticket_id").GetInt64());
            Assert.Contains("found BROKEN: the build is red", message.GetProperty("body").GetString());
            Assert.Contains("run sh check.sh", message.GetProperty("body").GetString());
        }
        await using (var a1 = await hive.ConnectAsync(agents[0]))
            Assert.Equal(tickets[0], (await NextOfKindAsync(a1, "merge_landed")).GetProperty("ticket_id").GetInt64());
        foreach (var done in new[] { agents[0], agents[1], agents[3] }) // free now, and the next tickets are for new hands
            using (var gone = await hive.Http.DeleteAsync($"/api/agents/{done}")) Assert.True(gone.IsSuccessStatusCode, await gone.Content.ReadAsStringAsync());

        // Two tickets changing the same line: the first lands, the second goes back with the file.
        await PauseAsync(hive, repository.Path, true);
        var (first, _) = await hive.BuildAndApproveAsync("a5", "checked", new Dictionary<string, string> { ["README.md"] = "a project\nsecond line, edited by a5\n" });
        var (second, a6) = await hive.BuildAndApproveAsync("a6", "checked", new Dictionary<string, string> { ["README.md"] = "a project\nsecond line, edited by a6\n" });
        await PauseAsync(hive, repository.Path, false);
        queue = await UntilQueueAsync(hive, q => q.Entries.Where(e => e.TicketId == first || e.TicketId == second).All(e => e.State is "landed" or "returned"),
            "the conflicting pair to end");
        Assert.Equal("landed", queue.Entries.Single(e => e.TicketId == first).State);
        var conflict = queue.Entries.Single(e => e.TicketId == second);
        Assert.Equal("returned", conflict.State);
        Assert.Equal(["README.md"], conflict.Files);
        await using (var socket = await hive.ConnectAsync(a6))
        {
            var message = await NextOfKindAsync(socket, "merge_returned");
            Assert.Contains("conflicts with main", message.GetProperty("body").GetString());
            Assert.Equal(["README.md"], message.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        }
        Assert.Equal(4, Subjects(repository.Path).Count(s => s.StartsWith("Merge ticket", StringComparison.Ordinal)));

        // hivectl shows the same, and refuses what the API refuses.
        string[] asOperator = ["--url", hive.BaseAddress.ToString(), "--token", hive.Token!];
        var listed = await Hive.Tests.Cli.Hivectl.RunAsync([.. asOperator, "queue"]);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("no ticket waits to land", listed.Stdout);
        Assert.Contains($"#{second} returned: its branch conflicts with the base", listed.Stdout);
        Assert.Contains($"#{first} landed as ", listed.Stdout);
        var refused = await Hive.Tests.Cli.Hivectl.RunAsync([.. asOperator, "queue", "retry", first.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(refused.ExitCode != 0 && refused.Stderr.Contains("not held", StringComparison.Ordinal), refused.ToString());
        Assert.Contains(hive.QueryDbList<string>("SELECT step FROM merge_steps WHERE ticket_id = @second", new { second }), s => s == "returned");
    }

    [Fact]
    public async Task Bad_input_to_the_queue_is_refused_and_changes_nothing()
    {
        await using var repository = LocalRepository.Create(Seed);
        await using var hive = await HiveInstance.StartAsync([]);
        // A check needs a repository, and is a list.
        foreach (var (yaml, says) in new[]
        {
            ("name: nocheck\ncheck: [sh, check.sh]\nphases:\n  - name: backlog\n    allowed_transitions: [done]\n  - name: done\n    terminal: true\n", "names no repository"),
            (CheckedWorkflow(repository.Path, "sh check.sh").Replace("name: checked", "name: nocheck"), "check must be a non-empty list"),
            (CheckedWorkflow(repository.Path, "[]").Replace("name: checked", "name: nocheck"), "check must be a non-empty list"),
        })
        {
            var (status, problem) = await hive.SendJsonAsync(HttpMethod.Put, "/api/workflows/nocheck", new { yaml });
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(says, problem.ToString());
        }
        Assert.Empty(hive.QueryDbList<string>("SELECT name FROM workflows WHERE name = 'nocheck'"));
        await hive.PutWorkflowAsync("checked", CheckedWorkflow(repository.Path, "[sh, check.sh]"));

        foreach (var (method, path, body, code) in new (HttpMethod, string, object?, HttpStatusCode)[]
        {
            (HttpMethod.Delete, "/api/merge-queue/999", null, HttpStatusCode.NotFound),
            (HttpMethod.Post, "/api/merge-queue/999/retry", new { }, HttpStatusCode.NotFound),
            (HttpMethod.Post, "/api/merge-queue/pause", new { repository = "/nowhere.git" }, HttpStatusCode.NotFound),
            (HttpMethod.Post, "/api/merge-queue/pause", new { }, HttpStatusCode.BadRequest),
        })
        {
            var (status, problem) = body is null ? await DeleteAsync(hive, path) : await hive.SendJsonAsync(method, path, body);
            Assert.True(status == code, $"{method} {path}: {(int)status} {problem}");
        }
        Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM merge_steps"));
        Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM merge_queue_pauses"));
    }

    [Fact]
    public async Task A_host_killed_during_the_check_and_during_the_push_leaves_the_base_whole_and_the_queue_goes_on()
    {
        await using var repository = LocalRepository.Create(Seed);
        var dataDir = Directory.CreateTempSubdirectory("hive-queue-crash-").FullName;
        var gates = Directory.CreateTempSubdirectory("hive-queue-gates-").FullName;
        string[] options = ["--Hive:Work:MergeQueue:BatchWaitSeconds", "0"];
        try
        {
            // The check takes a while (long enough to be killed in); the repository's hook holds a push to main until released.
            var hook = Path.Combine(repository.Path, "hooks", "pre-receive");
            await File.WriteAllTextAsync(hook, $$"""
                #!/bin/sh
                while read old new ref; do
                  if [ "$ref" = refs/heads/main ]; then
                    touch '{{gates}}/pushing'
                    while [ ! -e '{{gates}}/release' ]; do sleep 0.1; done
                  fi
                done
                exit 0

                """.ReplaceLineEndings("\n"));
            File.SetUnixFileMode(hook, (UnixFileMode)0b111_101_101);
            long id;
            await using (var host = await HostProcess.StartAsync(dataDir, [], extraArgs: options))
            {
                using var http = host.CreateClient();
                Assert.True((await http.PutAsJsonAsync("/api/workflows/checked", new { yaml = CheckedWorkflow(repository.Path, "[sh, -c, sleep 15; sh check.sh]") })).IsSuccessStatusCode);
                id = await BuildAndApproveAsync(host, http, "ann", new Dictionary<string, string> { ["one.txt"] = "1\n" });
                await HiveInstance.Until(() => HiveInstance.QueryDbList<string>(dataDir, "SELECT state FROM merge_batches ORDER BY id DESC LIMIT 1").FirstOrDefault() == "checking",
                    TimeSpan.FromSeconds(60), "the batch's check to start");
                await host.KillAsync();
            }
            Assert.Equal(["first commit"], Subjects(repository.Path)); // killed in its check: the base is as it was

            await using (var host = await HostProcess.StartAsync(dataDir, [], extraArgs: options))
            {
                // The batch is tested again from the start; killed while its push waits in the repository's hook.
                await HiveInstance.Until(() => File.Exists(Path.Combine(gates, "pushing")), TimeSpan.FromSeconds(90), "the push to main");
                Assert.Equal("pushing", HiveInstance.QueryDb<string>(dataDir, "SELECT state FROM merge_batches ORDER BY id DESC LIMIT 1"));
                await host.KillAsync();
            }
            // The push the killed host started goes through (its git outlived it): the base is advanced, by one merge, whole.
            File.WriteAllText(Path.Combine(gates, "release"), "");
            await HiveInstance.Until(() => Subjects(repository.Path).Count == 2, TimeSpan.FromSeconds(60), "the push to finish");

            await using (var host = await HostProcess.StartAsync(dataDir, [], extraArgs: options))
            {
                using var http = host.CreateClient();
                await HiveInstance.Until(() => HiveInstance.QueryDb<string>(dataDir, "SELECT state FROM merge_queue WHERE ticket_id = @id", new { id }) == "landed",
                    TimeSpan.FromSeconds(60), "the ticket to land");
                Assert.Equal([$"Merge ticket #{id}: Say hello", "first commit"], Subjects(repository.Path)); // merged once
                Assert.Equal("done", HiveInstance.QueryDb<string>(dataDir, "SELECT phase FROM tickets WHERE id = @id", new { id }));
                var steps = HiveInstance.QueryDbList<string>(dataDir, "SELECT step FROM merge_steps ORDER BY id");
                Assert.Equal(1, steps.Count(s => s == "interrupted")); // the check's, then the push found landed
                Assert.Equal(["interrupted", "landed"], HiveInstance.QueryDbList<string>(dataDir, "SELECT state FROM merge_batches ORDER BY id"));

                // The queue goes on: a second ticket lands after it.
                using (var gone = await http.DeleteAsync("/api/agents/ann")) Assert.True(gone.IsSuccessStatusCode);
                var next = await BuildAndApproveAsync(host, http, "ben", new Dictionary<string, string> { ["two.txt"] = "2\n" });
                await HiveInstance.Until(() => HiveInstance.QueryDb<string>(dataDir, "SELECT state FROM merge_queue WHERE ticket_id = @next", new { next }) == "landed",
                    TimeSpan.FromSeconds(90), "the second ticket to land");
                Assert.Equal(3, Subjects(repository.Path).Count);
                await host.TerminateAsync(TimeSpan.FromSeconds(20));
            }
        }
        finally
        {
            File.WriteAllText(Path.Combine(gates, "release"), ""); // no hook is left waiting
            await TestDirectories.DeleteAsync(dataDir);
            await TestDirectories.DeleteAsync(gates);
        }
    }

    /// <summary>
    /// The workflow <c>checked</c> on <paramref name="repository"/>: backlog → build → review (the operator's) → done, its
    /// merge queue's check <paramref name="check"/> (YAML).
    /// </summary>
    private static string CheckedWorkflow(string repository, string check) =>
        TestWorkflows.Reviewed(repository, check).Replace("name: reviewed", "name: checked");

    /// <summary><see cref="WorkKit.BuildAndApproveAsync"/> (its agent named as given) against a host in a process of its own.</summary>
    private static async Task<long> BuildAndApproveAsync(HostProcess host, HttpClient http, string agent, IReadOnlyDictionary<string, string> files)
    {
        Assert.True((await http.PostAsJsonAsync("/api/agents", new { name = agent, driver = "external", capabilities = new[] { "code" } })).IsSuccessStatusCode);
        long id;
        await using (var socket = await host.ConnectAsync(agent))
        {
            using var created = await http.PostAsJsonAsync("/api/tickets", new { title = "Say hello", workflow = "checked" });
            id = (await created.Content.ReadFromJsonAsync<TicketView>(HiveJson.Options))!.Id;
            Assert.Equal(id, OfferedTicket(await NextOfferAsync(socket, 30) ?? throw new Xunit.Sdk.XunitException("no offer")));
            Ok(await socket.CallAsync(new { op = "ticket_claim", id }));
            await CommitInAsync(Path.Combine(host.DataDir, "agents", agent, "work"), files, $"work of {agent}");
            Ok(await socket.CallAsync(new { op = "ticket_submit", id, summary = "done" }));
        }
        using var approved = await http.PostAsJsonAsync($"/api/tickets/{id}/reviews", new { verdict = "approve" });
        Assert.True(approved.StatusCode == HttpStatusCode.Created, await approved.Content.ReadAsStringAsync());
        return id;
    }

    private static async Task PauseAsync(HiveInstance hive, string repository, bool paused)
    {
        var (status, body) = await hive.SendJsonAsync(HttpMethod.Post, paused ? "/api/merge-queue/pause" : "/api/merge-queue/resume", new { repository });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.Equal(paused, body.Deserialize<MergeQueueView>(HiveJson.Options)!.Paused.Any(p => p.Repository == repository));
    }

    private static async Task<MergeQueueView> UntilQueueAsync(HiveInstance hive, Func<MergeQueueView, bool> condition, string what)
    {
        MergeQueueView? seen = null;
        await HiveInstance.Until(() => condition(seen = hive.GetAsync<MergeQueueView>("/api/merge-queue").GetAwaiter().GetResult()), TimeSpan.FromSeconds(120), what);
        return seen!;
    }

    private static async Task<(HttpStatusCode, System.Text.Json.JsonElement)> DeleteAsync(HiveInstance hive, string path)
    {
        using var response = await hive.Http.DeleteAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, System.Text.Json.JsonDocument.Parse(text.Length > 0 ? text : "{}").RootElement.Clone());
    }

    /// <summary>main's first-parent history in the bare repository, newest first: each commit's subject.</summary>
    private static List<string> Subjects(string bare) =>
        Git(bare, "log", "--first-parent", "--format=%s", "main").Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>The files of main's tree.</summary>
    private static List<string> Tree(string bare) =>
        Git(bare, "ls-tree", "--name-only", "main").Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();

    private static string Git(string bare, params string[] args)
    {
        var git = Hive.Shared.Processes.ChildProcess.Run(new Hive.Shared.Processes.ChildCommand("git", ["--git-dir", bare, .. args]));
        Assert.True(git.ExitCode == 0, git.Stderr);
        return git.Stdout;
    }
}
