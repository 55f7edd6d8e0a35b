using System.Text;
using System.Text.Json;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Work;
using MediatR;

namespace Hive.Features.Forge.Webhooks;

/// <summary>
/// <c>POST /hooks/forgejo</c> (no sign-in: the signature is the proof): a Forgejo webhook delivery becomes one typed
/// message from <c>forge</c> to the agent it concerns, trimmed to what an agent acts on. In order: the signature
/// (<c>X-Forgejo-Signature</c>, or Gitea's <c>X-Gitea-Signature</c>) against <see cref="WebhookSecret"/>, else 401; the
/// event and the JSON, else 400 (with no forge configured the route answers 404 before it reads a body); the recipient (the agent working the ticket branch it names, else the agent owning the
/// repository), else 404; the delivery id (<c>X-Forgejo-Delivery</c>) unseen in <see cref="KeptFor"/>, else 409. The
/// delivery's row and its message commit in one change, so a failure anywhere delivers nothing and a replay of a delivered
/// one finds its row. Events: <c>push</c>; <c>pull_request</c> opened, review requested, merged; <c>issue_comment</c>
/// created; <c>status</c> failure or error (with its link). Another action or state of those events is answered 200
/// <c>ignored</c> (Forgejo would otherwise show the hook failing), and recorded like the rest.
/// </summary>
public static class ReceiveForgeWebhook
{
    public const string Route = "/hooks/forgejo";

    public static readonly TimeSpan KeptFor = TimeSpan.FromDays(7);

    public const string PushKind = "forge_push";
    public const string PullRequestKind = "forge_pull_request";
    public const string CommentKind = "forge_comment";
    public const string StatusKind = "forge_status";

    /// <param name="Body">The raw body, as signed, with its HMAC (read whole, at most <see cref="ForgeOptions.WebhookMaxBytes"/>).</param>
    public sealed record Command(string? Event, string? Delivery, string? Signature, ReceivedBody Body) : IRequest<Result>;

    /// <summary>Who got the message (<see cref="To"/>, <see cref="MessageId"/>), or why nothing was sent (<see cref="Ignored"/>).</summary>
    public sealed record Result(string Delivery, string Event, string? To, long? MessageId, string? Ignored);

    /// <summary>
    /// Checks, reads and routes the delivery outside any state change (a stranger's unsigned posts never wait for, or hold
    /// up, the hive's changes), then records and delivers it in one (<see cref="Record"/>).
    /// </summary>
    internal sealed class Handler(IAgentDirectory agents, IMediator mediator)
        : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            if (!WebhookSecret.Matches(command.Body.Mac, command.Signature))
                throw new UnauthorizedException("the delivery's signature (X-Forgejo-Signature) is missing or does not match the hook's secret");
            if (command.Delivery is not { Length: > 0 and <= 128 } delivery || !delivery.All(c => c is > ' ' and < '\x7f'))
                throw new BadRequestException("X-Forgejo-Delivery must be the delivery's id (1 to 128 visible ASCII characters)");
            var forgeEvent = command.Event ?? "";
            var body = command.Body.ReadAll();

            ForgeNews news;
            try
            {
                using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
                news = WebhookPayloads.Read(forgeEvent, document.RootElement);
            }
            catch (JsonException)
            {
                throw new BadRequestException("the body is not JSON");
            }

            var to = await RecipientAsync(news, cancellationToken)
                ?? throw new NotFoundException($"{news.Repository} is no repository of the hive's: no agent owns it or works its branch");
            var bodyHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body));
            return await mediator.Send(new Record(delivery, forgeEvent, bodyHash, to, news), cancellationToken);
        }

        /// <summary>The agent working the ticket branch (or commit) it names, else the agent of the repository owner's name.</summary>
        private async Task<string?> RecipientAsync(ForgeNews news, CancellationToken cancellationToken)
        {
            if (news.Branch is not null || news.Sha is not null)
            {
                var worker = await mediator.Send(new FindBranchWorker(news.Repository, news.Branch, news.Sha), cancellationToken);
                if (worker is not null && agents.IsAgent(worker)) return worker;
            }
            var owner = news.Repository[..news.Repository.IndexOf('/')];
            return agents.IsAgent(owner) ? owner : null;
        }
    }

    /// <summary>The delivery's row and its message, one change: a replay finds the row (409); a failure keeps neither.</summary>
    internal sealed record Record(string Delivery, string Event, string BodyHash, string To, ForgeNews News) : IRequest<Result>, IChangesState;

    internal sealed class RecordHandler(IMediator mediator, StateChanges changes, TimeProvider clock) : IRequestHandler<Record, Result>
    {
        public async Task<Result> Handle(Record record, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            change.Execute("DELETE FROM forge_deliveries WHERE received_at < @cutoff", new { cutoff = now - KeptFor });
            if (change.Execute("""
                    INSERT INTO forge_deliveries (delivery, event, body_sha256, received_at) VALUES (@Delivery, @Event, @BodyHash, @now)
                    ON CONFLICT DO NOTHING
                    """, new { record.Delivery, record.Event, record.BodyHash, now }) == 0)
                throw new ConflictException($"delivery {record.Delivery} (or this very body) was received already: a replay delivers nothing");
            var news = record.News;
            if (news.Ignored is { } why) return new Result(record.Delivery, record.Event, null, null, why);

            var extra = new Dictionary<string, object?> { ["delivery"] = record.Delivery, ["repository"] = news.Repository, ["forge"] = news.Payload };
            var body = news.Summary + "\n" + JsonSerializer.Serialize(news.Payload, WebhookPayloads.Compact);
            var sent = await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Forge, record.To, news.Kind, body, extra)]), cancellationToken);
            return new Result(record.Delivery, record.Event, record.To, sent[0].Id, null);
        }
    }
}

/// <summary>What a delivery says, trimmed: its message kind, a one-line summary, the fields an agent needs, and how to route it.</summary>
internal sealed record ForgeNews(string Kind, string Repository, string? Branch, string? Sha, string Summary, object Payload, string? Ignored = null);

/// <summary>
/// Forgejo's payloads (its <c>modules/structs/hook.go</c>: <c>PushPayload</c>, <c>PullRequestPayload</c>,
/// <c>IssueCommentPayload</c>, <c>CommitStatusPayload</c>) read field by field and cut short: no avatars, no whole
/// repository or user objects, commit messages to their first line, a comment to <see cref="MaxText"/> characters.
/// </summary>
internal static class WebhookPayloads
{
    public const int MaxText = 2000;
    public const int MaxLine = 200;
    public const int MaxCommits = 20;

    public static readonly JsonSerializerOptions Compact = new(Hive.Contracts.Json.HiveJson.Options) { WriteIndented = false };

    public static ForgeNews Read(string forgeEvent, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new BadRequestException("the body must be a JSON object");
        var repository = Text(root, "repository", "full_name");
        if (repository is null || repository.Count(c => c == '/') != 1 || repository.StartsWith('/') || repository.EndsWith('/'))
            throw new BadRequestException("the payload names no repository (repository.full_name, owner/name)");
        return forgeEvent switch
        {
            "push" => Push(root, repository),
            "pull_request" => PullRequest(root, repository),
            "issue_comment" => Comment(root, repository),
            "status" => Status(root, repository),
            "" => throw new BadRequestException("X-Forgejo-Event is missing"),
            _ => throw new BadRequestException($"the event {Line(forgeEvent, 40)} is not one the hive takes (push, pull_request, issue_comment, status)"),
        };
    }

    private static ForgeNews Push(JsonElement root, string repository)
    {
        var reference = Text(root, "ref") ?? throw new BadRequestException("a push names its ref");
        var branch = reference.StartsWith("refs/heads/", StringComparison.Ordinal) ? reference["refs/heads/".Length..] : null;
        var after = Text(root, "after");
        var pusher = Login(root, "pusher") ?? Login(root, "sender");
        var commits = root.TryGetProperty("commits", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList() : [];
        var total = root.TryGetProperty("total_commits", out var t) && t.TryGetInt32(out var n) ? n : commits.Count;
        var deleted = after is not null && after.All(c => c == '0');
        var payload = new
        {
            @ref = reference, branch, before = Text(root, "before"), after, compare_url = Text(root, "compare_url"), pusher, total_commits = total,
            commits = commits.Take(MaxCommits).Select(c => new
            {
                id = Text(c, "id"), message = Line(FirstLine(Text(c, "message")), MaxLine), author = Text(c, "author", "username") ?? Text(c, "author", "name"),
                url = Text(c, "url"),
            }).ToList(),
        };
        var what = deleted ? "deleted" : $"{total} commit{(total == 1 ? "" : "s")}";
        var head = commits.Count > 0 ? $": {Line(FirstLine(Text(commits[^1], "message")), 80)}" : "";
        return new ForgeNews(ReceiveForgeWebhook.PushKind, repository, branch, deleted ? null : after,
            $"push to {repository} {branch ?? reference} by {pusher ?? "someone"}: {what}{head}", payload);
    }

    private static ForgeNews PullRequest(JsonElement root, string repository)
    {
        var action = Text(root, "action") ?? "";
        if (!root.TryGetProperty("pull_request", out var pr) || pr.ValueKind != JsonValueKind.Object)
            throw new BadRequestException("a pull_request event carries its pull_request");
        var number = Number(root, "number") ?? Number(pr, "number");
        var merged = pr.TryGetProperty("merged", out var m) && m.ValueKind == JsonValueKind.True;
        var title = Line(Text(pr, "title"), MaxLine);
        var head = Text(pr, "head", "ref");
        var reviewer = Login(root, "requested_reviewer");
        var sender = Login(root, "sender");
        var payload = new
        {
            action, number, title, url = Text(pr, "html_url"), head, @base = Text(pr, "base", "ref"), author = Login(pr, "user"), merged,
            requested_reviewer = reviewer, sender, body = Line(Text(pr, "body"), MaxText),
        };
        var (done, ignored) = action switch
        {
            "opened" => ($"opened by {sender ?? "someone"}", null),
            "review_requested" => ($"review requested from {reviewer ?? "someone"}", null),
            "closed" when merged => ($"merged by {sender ?? "someone"}", null),
            _ => ("", $"pull_request {Line(action, 40)}{(action == "closed" ? " (not merged)" : "")} is not passed on (only opened, review_requested, merged)"),
        };
        return new ForgeNews(ReceiveForgeWebhook.PullRequestKind, repository, head, null,
            $"pull request {repository}#{number} {done}: \"{title}\" ({head} → {payload.@base}) {payload.url}", payload, ignored);
    }

    private static ForgeNews Comment(JsonElement root, string repository)
    {
        var action = Text(root, "action") ?? "";
        var number = Number(root, "issue", "number");
        var isPull = root.TryGetProperty("is_pull", out var p) && p.ValueKind == JsonValueKind.True
                     || (root.TryGetProperty("issue", out var issue) && issue.TryGetProperty("pull_request", out var pr) && pr.ValueKind == JsonValueKind.Object);
        var user = Login(root, "comment", "user") ?? Login(root, "sender");
        var text = Text(root, "comment", "body") ?? "";
        var payload = new
        {
            action, number, is_pull = isPull, title = Line(Text(root, "issue", "title"), MaxLine), url = Text(root, "comment", "html_url"), user,
            body = Line(text, MaxText),
        };
        return new ForgeNews(ReceiveForgeWebhook.CommentKind, repository, null, null,
            $"comment by {user ?? "someone"} on {repository}#{number} \"{payload.title}\": {Line(FirstLine(text), 120)} {payload.url}", payload,
            action == "created" ? null : $"issue_comment {Line(action, 40)} is not passed on (only created)");
    }

    private static ForgeNews Status(JsonElement root, string repository)
    {
        var state = Text(root, "state") ?? "";
        var sha = Text(root, "sha") ?? Text(root, "commit", "id");
        var payload = new
        {
            sha, state, context = Line(Text(root, "context"), MaxLine), description = Line(Text(root, "description"), MaxLine),
            target_url = Text(root, "target_url"), commit_message = Line(FirstLine(Text(root, "commit", "message")), MaxLine),
        };
        var shortSha = sha is { Length: > 10 } ? sha[..10] : sha;
        return new ForgeNews(ReceiveForgeWebhook.StatusKind, repository, null, sha,
            $"check {payload.context} {state} on {repository} {shortSha}: {payload.description} {payload.target_url}", payload,
            state is "failure" or "error" ? null : $"status {Line(state, 40)} is not passed on (only failure and error)");
    }

    /// <summary>The string at a path of properties; null when any step is missing or not that type.</summary>
    private static string? Text(JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element)) return null;
        }
        return element.ValueKind == JsonValueKind.String ? element.GetString() : null;
    }

    private static long? Number(JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element)) return null;
        }
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var n) ? n : null;
    }

    /// <summary>A user object's <c>login</c> (Forgejo's; <c>username</c> is its older alias).</summary>
    private static string? Login(JsonElement element, params string[] path) =>
        Text(element, [.. path, "login"]) ?? Text(element, [.. path, "username"]);

    private static string? FirstLine(string? text) => text?.Split('\n', 2)[0].TrimEnd('\r');

    private static string? Line(string? text, int max)
    {
        if (text is null) return null;
        // Never between the halves of a surrogate pair: a lone half is not text.
        var end = text.Length <= max ? text.Length : char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        var cut = end == text.Length ? text : text[..end] + "…";
        return new StringBuilder(cut.Length).Append(cut.Select(c => char.IsControl(c) && c != '\n' ? ' ' : c).ToArray()).ToString();
    }
}
