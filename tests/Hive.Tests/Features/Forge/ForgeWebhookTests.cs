using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Features.Forge.Webhooks;
using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Forge;

/// <summary>
/// Forgejo's webhook deliveries, signed as Forgejo signs them (hex HMAC-SHA256 of the raw body under the
/// hook's secret, <c>X-Forgejo-Signature</c>), posted without sign-in to a real host; the payloads are trimmed copies of
/// Forgejo's <c>PushPayload</c>, <c>PullRequestPayload</c>, <c>IssueCommentPayload</c> and <c>CommitStatusPayload</c>. The
/// agent they concern receives exactly one typed message from <c>forge</c> per delivery; a replay, a bad signature, an
/// unknown repository or an oversized body delivers nothing, which each test proves by a later marker message arriving next.
/// </summary>
public sealed class ForgeWebhookTests
{
    private const string HookUrl = "http://hive.invalid:7480/hooks/forgejo";

    [Fact]
    public async Task The_sweep_registers_the_hook_once_and_each_signed_delivery_reaches_the_owner_once()
    {
        await using var f = await StartAsync();
        await f.StartUpSweepAsync();

        var hook = Assert.Single(f.Forge.Hooks("alice", "app"));
        Assert.Equal(("forgejo", HookUrl, "json"), (hook.Type, hook.Url, hook.ContentType));
        Assert.Equal(["push", "pull_request", "issue_comment", "status"], hook.Events);
        var secretFile = Path.Combine(f.Hive.DataDir, "forge-webhook-secret");
        Assert.Equal(hook.Secret, await File.ReadAllTextAsync(secretFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secretFile));
        var swept = await f.SweepAsync();
        Assert.Single(f.Forge.Hooks("alice", "app")); // listed first: a second sweep adds none
        Assert.Equal(1, f.Forge.Calls("POST /repos/{owner}/{repo}/hooks"));
        var webhooks = swept.GetProperty("webhooks");
        var hooked = webhooks.Deserialize<Hive.Features.Forge.ForgeWebhooks>(HiveJson.Options)!;
        Assert.Equal(HookUrl, hooked.Url);
        Assert.Equal(["alice/app"], hooked.Repositories);
        Assert.Equal(JsonValueKind.Null, webhooks.GetProperty("error").ValueKind); // present and null, raw

        await using var alice = await f.Hive.ConnectAsync("alice");
        await using var bob = await f.Hive.ConnectAsync("bob");

        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "push", Push("alice/app", "refs/heads/main"), "d-push")).Status);
        var push = await NextAsync(alice, "forge_push");
        Assert.StartsWith("push to alice/app main by alice: 2 commits", push.Body);
        // The delivery, the repository and the forge's own fields are extra fields of the system message (no record names them).
        Assert.Equal("d-push", push.Extra!["delivery"].GetString());
        Assert.Equal("alice/app", push.Extra["repository"].GetString());
        var commits = push.Extra["forge"].GetProperty("commits");
        Assert.Equal(2, commits.GetArrayLength());
        Assert.Equal("Fix the parser", commits[0].GetProperty("message").GetString()); // the first line only
        Assert.DoesNotContain("avatar_url", push.Body); // trimmed: no whole user objects

        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "pull_request", PullRequest("alice/app", "opened", "feature"), "d-pr-open")).Status);
        Assert.Contains("pull request alice/app#7 opened by bob", (await NextAsync(alice, "forge_pull_request")).Body);
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "pull_request", PullRequest("alice/app", "review_requested", "feature"), "d-pr-review",
            eventType: "pull_request_review_request")).Status);
        var review = await NextAsync(alice, "forge_pull_request");
        Assert.Contains("review requested from carol", review.Body);
        Assert.Equal("carol", review.Extra!["forge"].GetProperty("requested_reviewer").GetString());
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "pull_request", PullRequest("alice/app", "closed", "feature", merged: true), "d-pr-merged")).Status);
        Assert.Contains("merged by bob", (await NextAsync(alice, "forge_pull_request")).Body);
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "issue_comment", Comment("alice/app"), "d-comment", gitea: true)).Status);
        var comment = await NextAsync(alice, "forge_comment");
        Assert.Contains("comment by bob on alice/app#7", comment.Body);
        Assert.Equal("Please rename the flag.\nIt reads oddly.", comment.Extra!["forge"].GetProperty("body").GetString());
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "status", Status("alice/app", "failure"), "d-status")).Status);
        var status = await NextAsync(alice, "forge_status");
        Assert.Contains("https://ci.example/runs/42", status.Body);
        Assert.Equal("failure", status.Extra!["forge"].GetProperty("state").GetString());

        // A replay: 409, nothing new; the same signed body under a new id (the id is not signed) too. A success status and a
        // closed-unmerged pull request: 200, ignored, nothing sent.
        var (replayed, problem) = await DeliverAsync(f, "push", Push("alice/app", "refs/heads/main"), "d-push");
        Assert.Equal(HttpStatusCode.Conflict, replayed);
        Assert.Equal("conflict", Problem.Of(problem).Code);
        Assert.Equal(HttpStatusCode.Conflict, (await DeliverAsync(f, "push", Push("alice/app", "refs/heads/main"), "d-push-again")).Status);
        var (ignored, answer) = await DeliverAsync(f, "status", Status("alice/app", "success"), "d-status-ok");
        Assert.Equal(HttpStatusCode.OK, ignored);
        Assert.Contains("not passed on", answer.Deserialize<ReceiveForgeWebhook.Result>(HiveJson.Options)!.Ignored);
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "pull_request", PullRequest("alice/app", "closed", "feature"), "d-pr-closed")).Status);
        await MarkerIsNextAsync(f, alice, "after the replay");
        Assert.Null(await bob.RecvAsync()); // only the owner heard any of it
    }

    [Fact]
    public async Task A_bad_signature_is_401_an_unknown_repository_404_an_oversized_body_413_and_none_of_them_delivers()
    {
        await using var f = await StartAsync("--Hive:Forge:WebhookMaxBytes", "4096");
        await f.StartUpSweepAsync();
        await using var alice = await f.Hive.ConnectAsync("alice");
        var body = Push("alice/app", "refs/heads/main");

        var (status, problem) = await DeliverAsync(f, "push", body, "d-1", secret: "not-the-secret");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("unauthorized", Problem.Of(problem).Code);
        Assert.Equal(HttpStatusCode.Unauthorized, (await DeliverAsync(f, "push", body, "d-1", signature: "")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await DeliverAsync(f, "push", body + " ", "d-1", signature: Sign(await SecretAsync(f), body))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await DeliverAsync(f, "push", Push("carol/app", "refs/heads/main"), "d-2")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await DeliverAsync(f, "push", "{\"ref\": ", "d-3")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await DeliverAsync(f, "issues", body, "d-4")).Status);
        var big = Push("alice/app", "refs/heads/main", padding: 5000);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await DeliverAsync(f, "push", big, "d-5")).Status);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await DeliverAsync(f, "push", big, "d-5", chunked: true)).Status);
        // The path is open to a POST only: anything else there still needs the operator.
        using (var anonymous = f.Hive.CreateClient(signedIn: false))
        using (var get = await anonymous.GetAsync(ReceiveForgeWebhook.Route))
            Assert.Equal(HttpStatusCode.Unauthorized, get.StatusCode);

        await MarkerIsNextAsync(f, alice, "after the refusals");
        // Nothing of a refused delivery was kept: its id, properly signed, is delivered now.
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "push", body, "d-1")).Status);
        Assert.Equal("d-1", (await NextAsync(alice, "forge_push")).Extra!["delivery"].GetString());

        // Ids are kept 7 days: one received 6 days ago is still a replay, one received 8 days ago is forgotten.
        var at = (int days) => DateTimeOffset.UtcNow.AddDays(-days).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        f.Hive.ExecuteDb($"INSERT INTO forge_deliveries (delivery, event, body_sha256, received_at) VALUES ('d-6-days', 'push', 'h6', '{at(6)}'), ('d-8-days', 'push', 'h8', '{at(8)}')");
        var later = Push("alice/app", "refs/heads/later");
        Assert.Equal(HttpStatusCode.Conflict, (await DeliverAsync(f, "push", later, "d-6-days")).Status);
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "push", later, "d-8-days")).Status);
        Assert.Equal("d-8-days", (await NextAsync(alice, "forge_push")).Extra!["delivery"].GetString());
        Assert.Equal(0, f.Hive.QueryDb<long>("SELECT count(*) FROM forge_deliveries WHERE delivery = 'd-8-days' AND received_at < @cutoff",
            new { cutoff = at(1) }));
    }

    /// <summary>
    /// A stranger's post without a signature a body could match is refused before its body is read: the host answers 401
    /// while the client has sent only the head and a little of the megabyte it announced.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("sha256=not-hex")]
    [InlineData("abcdef")]
    public async Task An_unsigned_post_is_refused_before_its_body_is_read(string? signature)
    {
        await using var f = await StartAsync();
        using var raw = await RawHttpConnection.OpenAsync(f.Hive.BaseAddress);
        await raw.SendRawAsync(Encoding.ASCII.GetBytes(
            $"POST {ReceiveForgeWebhook.Route} HTTP/1.1\r\nHost: {raw.Authority}\r\nContent-Type: application/json\r\nContent-Length: {1024 * 1024}\r\n" +
            $"X-Forgejo-Event: push\r\nX-Forgejo-Delivery: d-unsigned\r\n{(signature is null ? "" : $"X-Forgejo-Signature: {signature}\r\n")}\r\n"));
        await raw.SendRawAsync(new byte[1024]);
        var response = await raw.ReadResponseAsync(TimeSpan.FromSeconds(30)); // the other 1023 KiB never come
        Assert.Equal(401, response.Status);
        Assert.Equal("unauthorized", JsonSerializer.Deserialize<Problem>(response.Body, HiveJson.Options)!.Code);
        Assert.Equal(0, f.Hive.QueryDb<long>("SELECT count(*) FROM forge_deliveries"));
    }

    /// <summary>
    /// A chunked body (no length to refuse up front) with a signature that looks right is cut off at the cap: 413 comes back
    /// while the client is still sending, so no more than the cap is ever read before the signature is checked.
    /// </summary>
    [Fact]
    public async Task A_body_over_the_cap_is_413_before_the_client_has_finished_sending_it()
    {
        await using var f = await StartAsync("--Hive:Forge:WebhookMaxBytes", "65536");
        using var raw = await RawHttpConnection.OpenAsync(f.Hive.BaseAddress);
        await raw.SendRawAsync(Encoding.ASCII.GetBytes(
            $"POST {ReceiveForgeWebhook.Route} HTTP/1.1\r\nHost: {raw.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n" +
            $"X-Forgejo-Event: push\r\nX-Forgejo-Delivery: d-big\r\nX-Forgejo-Signature: {new string('a', 64)}\r\n\r\n"));
        var chunk = Encoding.ASCII.GetBytes($"{16 * 1024:x}\r\n{new string(' ', 16 * 1024)}\r\n");
        for (var i = 0; i < 5; i++) await raw.SendRawAsync(chunk); // 80 KiB, and the body never ends
        var response = await raw.ReadResponseAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(413, response.Status);
        Assert.Equal("too large", JsonSerializer.Deserialize<Problem>(response.Body, HiveJson.Options)!.Title);
    }

    /// <summary>A signed delivery larger than what the host keeps in memory is delivered whole; the same body badly signed is not.</summary>
    [Fact]
    public async Task A_signed_delivery_larger_than_the_in_memory_part_arrives_whole()
    {
        await using var f = await StartAsync();
        await f.StartUpSweepAsync();
        await using var alice = await f.Hive.ConnectAsync("alice");
        var body = Push("alice/app", "refs/heads/main", padding: 3 * WebhookBody.InMemoryBytes);
        Assert.Equal(HttpStatusCode.Unauthorized, (await DeliverAsync(f, "push", body, "d-large", secret: "not-the-secret", chunked: true)).Status);
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "push", body, "d-large", chunked: true)).Status);
        var push = await NextAsync(alice, "forge_push");
        Assert.Equal("d-large", push.Extra!["delivery"].GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body))),
            f.Hive.QueryDb<string>("SELECT body_sha256 FROM forge_deliveries WHERE delivery = 'd-large'"));
    }

    /// <summary>Every refusal on the route says what it is in its title (a 401 once said "the host failed").</summary>
    [Fact]
    public async Task Each_refusal_has_a_title_that_names_it()
    {
        await using var f = await StartAsync("--Hive:Forge:WebhookMaxBytes", "4096");
        await f.StartUpSweepAsync();
        var body = Push("alice/app", "refs/heads/main");
        var refusals = new (HttpStatusCode Status, string Title, Func<Task<(HttpStatusCode, JsonElement)>> Deliver)[]
        {
            (HttpStatusCode.Unauthorized, "not authenticated", () => DeliverAsync(f, "push", body, "t-1", secret: "not-the-secret")),
            (HttpStatusCode.Unauthorized, "not authenticated", () => DeliverAsync(f, "push", body, "t-2", signature: "")),
            (HttpStatusCode.BadRequest, "the request is malformed", () => DeliverAsync(f, "issues", body, "t-3")),
            (HttpStatusCode.NotFound, "not found", () => DeliverAsync(f, "push", Push("carol/app", "refs/heads/main"), "t-4")),
            (HttpStatusCode.RequestEntityTooLarge, "too large", () => DeliverAsync(f, "push", Push("alice/app", "refs/heads/main", padding: 5000), "t-5")),
        };
        foreach (var (status, title, deliver) in refusals)
        {
            var (got, problem) = await deliver();
            Assert.Equal(status, got);
            Assert.Equal(title, Problem.Of(problem).Title);
        }
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "push", body, "t-6")).Status);
        var (replayed, conflict) = await DeliverAsync(f, "push", body, "t-6");
        Assert.Equal(HttpStatusCode.Conflict, replayed);
        Assert.Equal("conflict", Problem.Of(conflict).Title);
    }

    [Fact]
    public async Task A_ticket_branch_goes_to_the_tickets_assignee_and_a_repository_no_agent_owns_is_404()
    {
        await using var f = await StartAsync(prepare: forge =>
            forge.AddRepo("acme", "project", new Dictionary<string, string> { ["README.md"] = "the project\n" }));
        await f.StartUpSweepAsync();
        var hive = f.Hive;
        await hive.PutWorkflowAsync("hooked", """
            name: hooked
            repository: acme/project
            phases:
              - name: backlog
                allowed_transitions: [build]
              - name: build
                needs: [hooks]
                prompt: Build it.
                allowed_transitions: [done]
              - name: done
                terminal: true
            """);
        var coder = await hive.NewAgentAsync("coder", "hooks");
        await using var agent = await hive.ConnectAsync(coder);
        var id = await hive.NewTicketAsync(new { title = "Hook it up", workflow = "hooked" });
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(agent, 30) ?? throw new Xunit.Sdk.XunitException("no offer")));
        Ok(await agent.CallAsync(new { op = "ticket_claim", id }));
        // The sweep puts the hook on the work layer's repositories too.
        await f.SweepAsync();
        Assert.Single(f.Forge.Hooks("acme", "project"));

        var branch = $"ticket/{id}-hook-it-up";
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "push", Push("acme/project", $"refs/heads/{branch}"), "t-push")).Status);
        Assert.Contains($"push to acme/project {branch}", (await NextAsync(agent, "forge_push")).Body);
        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(f, "pull_request", PullRequest("acme/project", "opened", branch), "t-pr")).Status);
        Assert.Equal(branch, (await NextAsync(agent, "forge_pull_request")).Extra!["forge"].GetProperty("head").GetString());
        // acme is no agent: its main branch, or a ticket branch of a ticket that does not exist, concerns nobody here.
        Assert.Equal(HttpStatusCode.NotFound, (await DeliverAsync(f, "push", Push("acme/project", "refs/heads/main"), "t-main")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await DeliverAsync(f, "push", Push("acme/project", $"refs/heads/ticket/{id + 1000}-other"), "t-other")).Status);
        await MarkerIsNextAsync(f, agent, "after the refusals", coder);
    }

    [Fact]
    public async Task With_the_forge_off_the_route_is_404()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"]);
        using var anonymous = hive.CreateClient(signedIn: false);
        using var content = new StringContent("{}", Encoding.UTF8, "application/json");
        using var response = await anonymous.PostAsync(ReceiveForgeWebhook.Route, content);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static Task<ForgeHive> StartAsync(params string[] args) => StartAsync(null, args);

    private static Task<ForgeHive> StartAsync(Action<FakeForgejo>? prepare, params string[] args) =>
        ForgeHive.StartAsync(["alice", "bob"], forge =>
        {
            forge.AddRepo("alice", "app", new Dictionary<string, string> { ["README.md"] = "alice's app\n" });
            prepare?.Invoke(forge);
        }, ["--Hive:Forge:WebhookUrl", HookUrl, .. args]);

    private static Task<string> SecretAsync(ForgeHive f) => File.ReadAllTextAsync(Path.Combine(f.Hive.DataDir, "forge-webhook-secret"));

    private static string Sign(string secret, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    /// <summary>Posts a delivery as Forgejo does (its headers, or Gitea's), with no sign-in; the status and the problem or answer body.</summary>
    private static async Task<(HttpStatusCode Status, JsonElement Body)> DeliverAsync(ForgeHive f, string forgeEvent, string body, string delivery,
        string? secret = null, string? signature = null, string? eventType = null, bool gitea = false, bool chunked = false)
    {
        signature ??= Sign(secret ?? await SecretAsync(f), body);
        using var http = f.Hive.CreateClient(signedIn: false);
        var bytes = Encoding.UTF8.GetBytes(body);
        HttpContent content = chunked ? new UnsizedContent(bytes) : new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, ReceiveForgeWebhook.Route) { Content = content };
        var prefix = gitea ? "X-Gitea-" : "X-Forgejo-";
        request.Headers.Add(prefix + "Event", forgeEvent);
        request.Headers.Add(prefix + "Event-Type", eventType ?? forgeEvent);
        request.Headers.Add(prefix + "Delivery", delivery);
        if (signature.Length > 0) request.Headers.Add(prefix + "Signature", signature);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json") f.ProblemBodies.Enqueue(text); // in the leak check too
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    /// <summary>The agent's next message (acknowledged), which must be from <c>forge</c> and of this kind.</summary>
    private static async Task<MessageView> NextAsync(AgentClient agent, string kind)
    {
        var message = await agent.RecvAndAckMessageAsync(10_000) ?? throw new Xunit.Sdk.XunitException($"no {kind} message came");
        Assert.Equal("forge", message.From);
        Assert.Equal(kind, message.Kind);
        return message;
    }

    /// <summary>The operator sends a marker; it must be the agent's very next message (so nothing came before it).</summary>
    private static async Task MarkerIsNextAsync(ForgeHive f, AgentClient agent, string marker, string to = "alice")
    {
        using (var sent = await f.Http.PostAsJsonAsync("/api/messages", new { to, body = marker }))
            Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync());
        var next = await agent.RecvAndAckMessageAsync(10_000) ?? throw new Xunit.Sdk.XunitException("the marker did not come");
        Assert.Equal(marker, next.Body);
    }

    /// <summary>A body sent without Content-Length (chunked): the cap must hold without trusting a length.</summary>
    private sealed class UnsizedContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    // Trimmed from Forgejo's modules/structs/hook.go payloads (with their user and repository objects as the API writes them).

    private static string User(string login) =>
        $$"""{"id": 3, "login": "{{login}}", "username": "{{login}}", "full_name": "", "email": "{{login}}@hive.invalid", "avatar_url": "http://forge.invalid/avatars/{{login}}"}""";

    private static string Repository(string fullName) =>
        $$"""{"id": 11, "owner": {{User(fullName.Split('/')[0])}}, "name": "{{fullName.Split('/')[1]}}", "full_name": "{{fullName}}", "private": true, "html_url": "http://forge.invalid/{{fullName}}", "default_branch": "main"}""";

    private static string Push(string repository, string reference, int padding = 0) => $$"""
        {"ref": "{{reference}}", "before": "1111111111111111111111111111111111111111", "after": "2222222222222222222222222222222222222222",
         "compare_url": "http://forge.invalid/{{repository}}/compare/1111111...2222222",
         "commits": [
           {"id": "3333333333333333333333333333333333333333", "message": "Fix the parser\n\nIt dropped the last line.{{new string('x', padding)}}", "url": "http://forge.invalid/{{repository}}/commit/3333333",
            "author": {"name": "alice", "email": "alice@hive.invalid", "username": "alice"}, "committer": {"name": "alice", "email": "alice@hive.invalid", "username": "alice"}, "timestamp": "2026-11-23T21:00:00Z"},
           {"id": "2222222222222222222222222222222222222222", "message": "Add a test\n", "url": "http://forge.invalid/{{repository}}/commit/2222222",
            "author": {"name": "alice", "email": "alice@hive.invalid", "username": "alice"}, "committer": {"name": "alice", "email": "alice@hive.invalid", "username": "alice"}, "timestamp": "2026-11-23T21:01:00Z"}
         ],
         "total_commits": 2, "repository": {{Repository(repository)}}, "pusher": {{User("alice")}}, "sender": {{User("alice")}}}
        """;

    private static string PullRequest(string repository, string action, string head, bool merged = false) => $$"""
        {"action": "{{action}}", "number": 7,
         "pull_request": {"id": 70, "number": 7, "user": {{User("bob")}}, "title": "Rename the flag", "body": "As discussed.", "state": "{{(action == "closed" ? "closed" : "open")}}",
           "html_url": "http://forge.invalid/{{repository}}/pulls/7", "merged": {{(merged ? "true" : "false")}},
           "head": {"label": "{{head}}", "ref": "{{head}}", "sha": "4444444444444444444444444444444444444444", "repo": {{Repository(repository)}} },
           "base": {"label": "main", "ref": "main", "sha": "1111111111111111111111111111111111111111", "repo": {{Repository(repository)}} } },
         {{(action == "review_requested" ? $"\"requested_reviewer\": {User("carol")}," : "")}}
         "repository": {{Repository(repository)}}, "sender": {{User("bob")}}}
        """;

    private static string Comment(string repository) => $$"""
        {"action": "created",
         "issue": {"id": 70, "number": 7, "title": "Rename the flag", "user": {{User("bob")}}, "state": "open", "pull_request": {"merged": false} },
         "comment": {"id": 700, "html_url": "http://forge.invalid/{{repository}}/pulls/7#issuecomment-700", "user": {{User("bob")}}, "body": "Please rename the flag.\nIt reads oddly."},
         "repository": {{Repository(repository)}}, "sender": {{User("bob")}}, "is_pull": true}
        """;

    private static string Status(string repository, string state) => $$"""
        {"id": 5, "sha": "2222222222222222222222222222222222222222", "context": "ci/build", "state": "{{state}}", "description": "2 tests failed",
         "target_url": "https://ci.example/runs/42",
         "commit": {"id": "2222222222222222222222222222222222222222", "message": "Add a test\n", "url": "http://forge.invalid/{{repository}}/commit/2222222"},
         "repository": {{Repository(repository)}}, "sender": {{User("alice")}}}
        """;
}
