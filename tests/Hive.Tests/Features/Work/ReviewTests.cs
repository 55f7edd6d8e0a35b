using System.Net.Http.Json;
using Hive.Contracts.Json;
using Hive.Contracts.Work;
using Hive.Features.Work;
using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// Reviewing a ticket's diff line by line, with a local bare repository and no forge: the shipped workflow (given the
/// repository) takes two agents' tickets through design and implement into review; the operator and a reviewing agent
/// comment on lines, each comment reaching the ticket's owner once as a typed message; the owner replies in the thread
/// and resolves with the commit that addresses it, and that later commit shows as touching the comment's lines; then
/// <c>request_changes</c> sends one ticket back and <c>approve</c> queues the other, which the merge queue lands. The agents are external: the test
/// is their hands, committing in their work dirs as such an agent would.
/// </summary>
public sealed class ReviewTests
{
    private static readonly string App = string.Concat(Enumerable.Range(1, 20).Select(n => $"line {n}\n"));

    [Fact]
    public async Task Comments_reach_the_owner_once_replies_thread_a_fix_touches_them_and_the_verdicts_move_the_tickets()
    {
        await using var repository = LocalRepository.Create(new Dictionary<string, string> { ["src/app.txt"] = App, ["README.md"] = "a project\n" });
        await using var hive = await HiveInstance.StartAsync([]);
        await hive.PutWorkflowAsync("software_development", Shipped(repository.Path));
        var ann = await hive.NewAgentAsync("ann", "design", "code");
        var ben = await hive.NewAgentAsync("ben", "design", "code");
        var rita = await hive.NewAgentAsync("rita", "review");
        await using var annSocket = await hive.ConnectAsync(ann);
        await using var benSocket = await hive.ConnectAsync(ben);
        await using var ritaSocket = await hive.ConnectAsync(rita);

        // Two tickets, one each, through design and implement: each agent edits its own file and its ticket reaches review.
        var first = await hive.NewTicketAsync(new { title = "Change line ten", workflow = "software_development" });
        var second = await hive.NewTicketAsync(new { title = "Add a greeting", workflow = "software_development" });
        var owners = new Dictionary<long, (string Name, AgentClient Socket)>();
        foreach (var (name, socket) in new[] { (ann, annSocket), (ben, benSocket) })
            owners[OfferedTicket(await NextOfferAsync(socket, 30) ?? throw new Xunit.Sdk.XunitException($"no offer for {name}"))] = (name, socket);
        Assert.Equal([first, second], owners.Keys.Order());
        foreach (var (id, (name, socket)) in owners)
        {
            var change = id == first
                ? new Dictionary<string, string> { ["src/app.txt"] = App.Replace("line 10\n", "line ten\n") }
                : new Dictionary<string, string> { ["greeting.txt"] = "hello\nworld\n" };
            await DesignAndImplementAsync(hive, socket, name, id, change);
        }
        foreach (var id in owners.Keys)
            await HiveInstance.Until(() => hive.QueryDb<string>("SELECT phase FROM tickets WHERE id = @id", new { id }) == "review", TimeSpan.FromSeconds(30), $"ticket {id} in review");
        var (owner, ownerSocket) = owners[first];
        var (other, otherSocket) = owners[second];

        // The diff page's data: each ticket's own change against its base.
        var diff = await hive.GetAsync<TicketDiff>($"/api/tickets/{first}/diff");
        Assert.Contains(diff.Files, f => f is { Path: "src/app.txt", Status: "M", Added: 1, Removed: 1 });
        Assert.Contains("+line ten", diff.Patch);
        Assert.Contains((await hive.GetAsync<TicketDiff>($"/api/tickets/{second}/diff")).Files, f => f is { Path: "greeting.txt", Status: "A", Added: 2 });

        // Bad input changes nothing: a line the diff does not show, a file it does not change, a side that is not one.
        foreach (var (body, says) in new (object, string)[]
        {
            (new { path = "src/app.txt", line = 2, text = "far away" }, "outside the diff"),
            (new { path = "README.md", line = 1, text = "unchanged" }, "is not among the files"),
            (new { path = "src/app.txt", line = 10, side = "left", text = "?" }, "side is new"),
            (new { path = "src/app.txt", line = 10, text = "" }, "say something"),
        })
        {
            var (status, problem) = await hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{first}/comments", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(says, problem.ToString());
        }
        Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM review_comments"));

        // The operator's comment on the changed line, quoted with the line above it, reaches the owner once as a typed message.
        var (created, commentJson) = await hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{first}/comments",
            new { path = "src/app.txt", start_line = 9, line = 10, text = "Why spell it out?" });
        Assert.True(created == HttpStatusCode.Created, commentJson.ToString());
        var comment = commentJson.Deserialize<ReviewComment>(HiveJson.Options)!;
        Assert.Equal(("operator", "line 9\nline ten", diff.HeadSha), (comment.Author, comment.Quoted, comment.HeadSha));
        var message = await NextOfKindAsync(ownerSocket, "review_comment");
        Assert.Equal((first, comment.Id, "src/app.txt", 9, 10, "line 9\nline ten", "Why spell it out?"),
            (message.GetProperty("ticket_id").GetInt64(), message.GetProperty("comment_id").GetInt64(), message.GetProperty("path").GetString(),
                message.GetProperty("start_line").GetInt32(), message.GetProperty("line").GetInt32(), message.GetProperty("quoted").GetString(),
                message.GetProperty("text").GetString()));
        Assert.Contains("> line ten", message.GetProperty("body").GetString());
        Assert.Null(await ownerSocket.RecvAsync(300)); // once
        Assert.Null(await otherSocket.RecvAsync(0)); // and to the owner only

        // hivectl shows the thread as the operator reads it, and refuses a line the diff does not show as the API does.
        string[] asOperator = ["--url", hive.BaseAddress.ToString(), "--token", hive.Token!];
        var shown = await Hive.Tests.Cli.Hivectl.RunAsync([.. asOperator, "review", first.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains("src/app.txt:9-10\n  > line 9\n  > line ten\n  operator (comment ", shown.Stdout);
        Assert.Contains("Why spell it out?", shown.Stdout);
        var outside = await Hive.Tests.Cli.Hivectl.RunAsync([.. asOperator, "review", first.ToString(System.Globalization.CultureInfo.InvariantCulture), "--line", "src/app.txt:2", "--body", "far"]);
        Assert.True(outside.ExitCode != 0 && outside.Stderr.Contains("outside the diff", StringComparison.Ordinal), outside.ToString());

        // Who may comment: a reviewing agent may; the owner may not review its own work, nor an agent without the capability.
        var ritas = await ritaSocket.CallAsync(ReviewVerbs.ReviewComment, new ReviewCommentArgs(second, "greeting.txt", 1, null, null, "Say it louder"));
        Assert.Equal("hello", ritas.Comment.Quoted);
        Assert.Equal(ritas.Comment.Id, (await NextOfKindAsync(otherSocket, "review_comment")).GetProperty("comment_id").GetInt64());
        Assert.Equal("forbidden", (await otherSocket.RefusalOfAsync(ReviewVerbs.ReviewComment, new ReviewCommentArgs(second, "greeting.txt", 1, null, null, "mine"))).Code);
        Assert.Equal("forbidden", (await ownerSocket.RefusalOfAsync(ReviewVerbs.ReviewComment, new ReviewCommentArgs(second, "greeting.txt", 1, null, null, "not a reviewer"))).Code);

        // The owner answers in the thread; the reviewer who wrote it hears of the reply.
        var reply = (await ownerSocket.CallAsync(ReviewVerbs.ReviewReply, new ReviewReplyArgs(comment.Id, "It reads better."))).Comment;
        Assert.Equal(comment.Id, reply.ParentId);
        var ritaReply = (await otherSocket.CallAsync(ReviewVerbs.ReviewReply, new ReviewReplyArgs(ritas.Comment.Id, "Louder how?"))).Comment;
        Assert.Equal(ritaReply.Id, (await NextOfKindAsync(ritaSocket, "review_reply")).GetProperty("comment_id").GetInt64());

        // A later commit on the commented lines touches the comment; resolving takes a commit on the branch.
        var review = await hive.GetAsync<ReviewThreads>($"/api/tickets/{first}/review");
        Assert.Equal(owner, review.Owner);
        Assert.Equal([(comment.Id, (long?)null, false), (reply.Id, comment.Id, false)], review.Comments.Select(c => (c.Id, c.ParentId, c.Touched)));
        var fix = await CommitAsync(hive, owner, new Dictionary<string, string> { ["src/app.txt"] = App.Replace("line 10\n", "line 10 (short)\n") }, "shorter");
        Assert.True((await hive.GetAsync<ReviewThreads>($"/api/tickets/{first}/review")).Comments.Single(c => c.Id == comment.Id).Touched);
        Assert.False((await hive.GetAsync<ReviewThreads>($"/api/tickets/{second}/review")).Comments.Single(c => c.Id == ritas.Comment.Id).Touched);
        Assert.Equal("bad_request", (await ownerSocket.RefusalOfAsync(ReviewVerbs.ReviewResolve, new ReviewResolveArgs(comment.Id, null))).Code);
        Assert.Equal("bad_request", (await ownerSocket.RefusalOfAsync(ReviewVerbs.ReviewResolve, new ReviewResolveArgs(comment.Id, "0123456789abcdef"))).Code);
        Assert.Equal("forbidden", (await otherSocket.RefusalOfAsync(ReviewVerbs.ReviewResolve, new ReviewResolveArgs(comment.Id, fix))).Code);
        var resolved = (await ownerSocket.CallAsync(ReviewVerbs.ReviewResolve, new ReviewResolveArgs(comment.Id, fix[..12]))).Comment;
        Assert.Equal((owner, fix), (resolved.ResolvedBy, resolved.ResolvedCommit));

        // request_changes sends the first back to implement, offered to its owner with the review in its context; the
        // question the board asked rita is withdrawn. approve passes the second.
        var (status1, changes) = await hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{first}/reviews", new { verdict = "request_changes", body = "Keep it short." });
        Assert.True(status1 == HttpStatusCode.Created, changes.ToString());
        Assert.Equal("implement", changes.Deserialize<ReviewSubmitReply>(HiveJson.Options)!.Ticket.Phase);
        var submitted = await NextOfKindAsync(ownerSocket, "review_submitted");
        Assert.Equal("request_changes", submitted.GetProperty("verdict").GetString());
        var back = await hive.DetailAsync(first);
        Assert.Contains(back.Ticket.Context, c => c.Phase == "review" && c.Summary!.StartsWith("changes: Keep it short.", StringComparison.Ordinal));
        Assert.Equal(first, OfferedTicket(await NextOfferAsync(ownerSocket, 30) ?? throw new Xunit.Sdk.XunitException("no offer after changes")));
        Assert.Equal("[cancelled]", hive.QueryDb<string?>("SELECT answer FROM questions WHERE target = @rita AND question LIKE @like",
            new { rita, like = $"Review ticket #{first} %" }));

        var (status2, approved) = await hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{second}/reviews", new { verdict = "approve" });
        Assert.True(status2 == HttpStatusCode.Created, approved.ToString());
        // Approving queues it: it waits in review for its repository's merge queue, which lands it and moves it on.
        var queued = approved.Deserialize<ReviewSubmitReply>(HiveJson.Options)!.Ticket;
        Assert.Equal(("review", "done"), (queued.Phase, queued.NextPhase));
        Assert.Equal("queued", hive.QueryDb<string>("SELECT step FROM merge_steps WHERE ticket_id = @second", new { second }));
        await HiveInstance.Until(() => hive.QueryDb<string>("SELECT phase FROM tickets WHERE id = @second", new { second }) == "done", TimeSpan.FromSeconds(60),
            "the approved ticket to land");
        Assert.Contains(repository.Log(), l => l.EndsWith($"Merge ticket #{second}: Add a greeting", StringComparison.Ordinal));
        Assert.Equal(["request_changes"], (await hive.GetAsync<ReviewThreads>($"/api/tickets/{first}/review")).Decisions.Select(d => d.Verdict));

        // A verdict on a ticket out of review, and a review of a ticket without a branch, are refused and change nothing.
        var (status3, problem3) = await hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{first}/reviews", new { verdict = "approve" });
        Assert.Equal(HttpStatusCode.Conflict, status3);
        Assert.Contains("not in review", problem3.ToString());
        var unclaimed = await hive.NewTicketAsync(new { title = "Never claimed", workflow = "software_development", priority = -1 });
        var (status4, problem4) = await hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{unclaimed}/reviews", new { verdict = "comment", body = "hm" });
        Assert.Equal(HttpStatusCode.NotFound, status4);
        Assert.Contains("has no branch", problem4.ToString());
        Assert.Equal(2, hive.QueryDb<long>("SELECT count(*) FROM review_decisions"));
    }

    [Fact]
    public async Task A_comment_saved_right_before_the_host_is_SIGKILLed_reaches_the_owner_once_after_the_restart()
    {
        await using var repository = LocalRepository.Create(new Dictionary<string, string> { ["src/app.txt"] = App });
        var dataDir = Directory.CreateTempSubdirectory("hive-review-crash-").FullName;
        try
        {
            var workflow = ReviewedWorkflow(repository.Path);
            ReviewComment comment;
            await using (var first = await HostProcess.StartAsync(dataDir, []))
            {
                using var http = first.CreateClient();
                Assert.True((await http.PutAsJsonAsync("/api/workflows/reviewed", new { yaml = workflow })).IsSuccessStatusCode);
                Assert.True((await http.PostAsJsonAsync("/api/agents", new { name = "ann", driver = "external", capabilities = new[] { "code" } })).IsSuccessStatusCode);
                await using var ann = await first.ConnectAsync("ann");
                using var created = await http.PostAsJsonAsync("/api/tickets", new { title = "Change a line", workflow = "reviewed" });
                var id = (await created.Content.ReadFromJsonAsync<TicketView>(HiveJson.Options))!.Id;
                Assert.Equal(id, OfferedTicket(await NextOfferAsync(ann, 30) ?? throw new Xunit.Sdk.XunitException("no offer")));
                Ok(await ann.CallAsync(new { op = "ticket_claim", id }));
                await CommitInAsync(Path.Combine(dataDir, "agents", "ann", "work"), new Dictionary<string, string> { ["src/app.txt"] = App.Replace("line 3\n", "line three\n") }, "three");
                Ok(await ann.CallAsync(new { op = "ticket_submit", id, summary = "changed it" }));
                Assert.Equal("review", HiveInstance.QueryDb<string>(dataDir, "SELECT phase FROM tickets WHERE id = @id", new { id }));

                using var saved = await http.PostAsJsonAsync($"/api/tickets/{id}/comments", new { path = "src/app.txt", line = 3, text = "Digits, please." });
                Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
                comment = (await saved.Content.ReadFromJsonAsync<ReviewComment>(HiveJson.Options))!;
                await first.KillAsync(); // at once: the comment's answer is all the operator saw
            }

            await using var second = await HostProcess.StartAsync(dataDir, []);
            await using (var ann = await second.ConnectAsync("ann"))
            {
                var message = await NextOfKindAsync(ann, "review_comment");
                Assert.Equal((comment.Id, "line three", "Digits, please."),
                    (message.GetProperty("comment_id").GetInt64(), message.GetProperty("quoted").GetString(), message.GetProperty("text").GetString()));
                Assert.Null(await ann.RecvAsync(300));
            }
            Assert.Equal(1, HiveInstance.QueryDb<long>(dataDir, "SELECT count(*) FROM review_comments"));
            Assert.Equal(1, HiveInstance.QueryDb<long>(dataDir, "SELECT count(*) FROM messages WHERE kind = 'review_comment'"));
            await second.TerminateAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            await TestDirectories.DeleteAsync(dataDir);
        }
    }

    /// <summary>The workflow Hive ships, given <paramref name="repository"/>.</summary>
    internal static string Shipped(string repository) =>
        WorkflowCatalog.ShippedFiles()["software_development.yaml"].Replace("\nphases:\n", $"\nrepository: {repository}\nphases:\n", StringComparison.Ordinal);

    /// <summary>
    /// The agent on <paramref name="socket"/>, offered ticket <paramref name="id"/>'s design, claims it, writes design.md and
    /// submits; offered its implementation, claims it, commits <paramref name="files"/> and submits: the ticket goes to review.
    /// </summary>
    internal static async Task DesignAndImplementAsync(HiveInstance hive, AgentClient socket, string agent, long id, IReadOnlyDictionary<string, string> files)
    {
        Ok(await socket.CallAsync(new { op = "ticket_claim", id }));
        await File.WriteAllTextAsync(Path.Combine(hive.DataDir, "agents", agent, "work", "design.md"), "Edit the file.\n");
        Ok(await socket.CallAsync(new
        {
            op = "ticket_submit", id, summary = "the plan", outputs = new[] { new { kind = "file", value = "design.md" } },
            done = new[] { "The approach and its risks are written down", "Open questions are asked or answered" },
        }));
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(socket, 30) ?? throw new Xunit.Sdk.XunitException($"no implement offer for {agent}")));
        Ok(await socket.CallAsync(new { op = "ticket_claim", id }));
        File.Delete(Path.Combine(hive.DataDir, "agents", agent, "work", "design.md"));
        await CommitAsync(hive, agent, files, "the change");
        Ok(await socket.CallAsync(new
        {
            op = "ticket_submit", id, summary = "changed it", outputs = new[] { new { kind = "note", value = "edited and read back" } },
            done = new[] { "The change is built", "The change is tested" },
        }));
    }
}
