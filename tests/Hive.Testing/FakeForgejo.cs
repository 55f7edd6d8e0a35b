using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hive.Testing;

/// <summary>
/// A stand-in for a Forgejo server (none can be installed on these machines), over real HTTP: the API calls Hive makes,
/// with Forgejo's status codes and auth rules as <c>../shared/forgejo-api.md</c> records them (Basic-only token minting,
/// <c>must_change_password</c> blocking Basic calls, scopes gating routes, 422 for a reserved name or a taken e-mail, 409
/// for an existing repo), and git smart HTTP through <c>git http-backend</c>, so pushes land in real bare repositories.
/// It starts with one site admin (<see cref="AdminUser"/>). Faults can be injected per call: 500, no answer, or 422 for a
/// reserved name. It counts the creating calls and keeps every token it issued, so tests can look for them where they
/// must not be.
/// </summary>
public sealed class FakeForgejo : IAsyncDisposable
{
    public const string AdminUser = "root";
    public string AdminPassword { get; } = "root-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    public enum Fault
    {
        ServerError,
        NoAnswer,
    }

    private sealed class User
    {
        public required string Name { get; init; }
        public required string Email { get; init; }
        public string Password { get; set; } = "";
        public bool MustChangePassword { get; set; }
        public bool Admin { get; set; }
        public bool IsOrg { get; init; }
        public string? Owner { get; init; }
    }

    private sealed record Token(long Id, string Value, string User, string Name, string[] Scopes);

    private long _lastTokenId;

    private sealed record Caller(User User, string[]? Scopes, bool Basic)
    {
        public bool Has(string scope) => Scopes is null || Scopes.Contains(scope)
            || (scope.StartsWith("read:", StringComparison.Ordinal) && Scopes.Contains("write:" + scope[5..]));
    }

    private readonly object _lock = new();
    private readonly Dictionary<string, User> _users = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Token> _tokens = [];
    private readonly List<string> _everIssued = [];
    private readonly HashSet<string> _repos = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, string[]> _collaborators = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private readonly ConcurrentDictionary<string, Fault> _faults = new();
    private readonly ConcurrentDictionary<string, bool> _reserved = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(string Repo, Hook Hook)> _hooks = [];
    private readonly List<Pull> _pulls = [];
    private WebApplication? _app;

    /// <summary>
    /// A pull request as opened (its branches in the repository itself, by <paramref name="User"/>), and whether it was marked
    /// merged (<c>manually-merged</c>, by <paramref name="MergedBy"/> with <paramref name="MergeCommit"/>).
    /// </summary>
    public sealed record Pull(string Repo, long Number, string Head, string Base, string Title, string Body, string User)
    {
        public bool Merged { get; set; }
        public string? MergedBy { get; set; }
        public string? MergeCommit { get; set; }
    }

    /// <summary>The pull requests of a repository, in the order they were opened.</summary>
    public IReadOnlyList<Pull> Pulls(string owner, string repo)
    {
        lock (_lock) return _pulls.Where(p => string.Equals(p.Repo, $"{owner}/{repo}", StringComparison.OrdinalIgnoreCase)).ToList();
    }

    /// <summary>A repository's webhook as registered (the secret included, which Forgejo's API never shows again).</summary>
    public sealed record Hook(long Id, string Type, string Url, string ContentType, string Secret, IReadOnlyList<string> Events);

    /// <summary>The webhooks of a repository, oldest first.</summary>
    public IReadOnlyList<Hook> Hooks(string owner, string repo)
    {
        lock (_lock) return _hooks.Where(h => string.Equals(h.Repo, $"{owner}/{repo}", StringComparison.OrdinalIgnoreCase)).Select(h => h.Hook).ToList();
    }

    private FakeForgejo(string root) => Root = root;

    /// <summary>Where the bare repositories live (<c>&lt;owner&gt;/&lt;repo&gt;.git</c>).</summary>
    public string Root { get; }

    public Uri Url { get; private set; } = null!;

    /// <summary>Every token issued, to look for where none may be.</summary>
    public IReadOnlyList<string> IssuedTokens
    {
        get
        {
            lock (_lock) return _everIssued.ToList();
        }
    }

    /// <summary>
    /// Every secret this forge knows of: the tokens it issued, every password a user has, and each as Basic auth would
    /// carry it (base64 of "user:secret"), so a leak in an encoded form is found too.
    /// </summary>
    public IReadOnlyList<string> Secrets
    {
        get
        {
            lock (_lock)
            {
                var plain = _tokens.Select(t => (User: t.User, Secret: t.Value))
                    .Concat(_users.Values.Where(u => !u.IsOrg && u.Password.Length > 0).Select(u => (User: u.Name, Secret: u.Password)))
                    .ToList();
                return plain.Select(p => p.Secret).Concat(_hooks.Select(h => h.Hook.Secret))
                    .Concat(plain.SelectMany(p => new[] { p.User, "core", "x-access-token" }.Select(user =>
                        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{p.Secret}")))))
                    .Distinct().ToList();
            }
        }
    }

    /// <summary>A token a person made for the user on the forge's own pages (not the hive's): returns it.</summary>
    public string MintToken(string user, string name)
    {
        lock (_lock)
        {
            var token = new Token(++_lastTokenId, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)), _users[user].Name, name, ["read:user"]);
            _tokens.Add(token);
            _everIssued.Add(token.Value);
            return token.Value;
        }
    }

    /// <summary>Revokes a token (a forge reset, or an admin's cleanup): it authenticates nothing afterwards.</summary>
    public void Revoke(string token)
    {
        lock (_lock) _tokens.RemoveAll(t => t.Value == token);
    }

    /// <summary>Calls by "METHOD /route" (e.g. <c>POST /admin/users</c>), answered or not.</summary>
    public int Calls(string route) => _calls.GetValueOrDefault(route);

    /// <summary>Calls that create something (users, tokens, orgs, repos) or edit a user.</summary>
    public int CreatingCalls => _calls.Where(c => c.Key.StartsWith("POST ", StringComparison.Ordinal) || c.Key.StartsWith("PATCH ", StringComparison.Ordinal))
        .Sum(c => c.Value);

    /// <summary>Makes <paramref name="route"/> ("POST /orgs") fail this way until <see cref="Heal"/>.</summary>
    public void Inject(string route, Fault fault) => _faults[route] = fault;

    /// <summary>Creating a user or org of this name answers 422, as Forgejo does for its reserved names.</summary>
    public void Reserve(string name) => _reserved[name] = true;

    /// <summary>Git over HTTP answers 302 to this forge's same path while set (a forge, or a proxy, that redirects).</summary>
    public Uri? RedirectGitTo { get; set; }

    private readonly ConcurrentQueue<string> _gitAuthorizations = new();

    /// <summary>The Authorization header of every git request this forge got (empty string when none).</summary>
    public IReadOnlyList<string> GitAuthorizations => _gitAuthorizations.ToArray();

    /// <summary>Git over HTTP answers 500 while set (a forge whose git side is down).</summary>
    public bool RefuseGit { get; set; }

    /// <summary>Holds each authenticated git request this long (a push then lives long enough to be watched in <c>/proc</c>).</summary>
    public TimeSpan GitDelay { get; set; }

    /// <summary>The commits of a bare repo's branch, newest first (empty when it has none).</summary>
    public IReadOnlyList<string> Log(string owner, string repo, string branch = "main") => LocalRepository.LogOf(BareRepo(owner, repo), branch);

    public void Heal()
    {
        _faults.Clear();
        _reserved.Clear();
    }

    /// <summary>A user someone made by hand (a person, say), with a password nobody here knows.</summary>
    public void AddUser(string name, string email)
    {
        lock (_lock) _users[name] = new User { Name = name, Email = email, Password = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) };
    }

    public bool HasUser(string name)
    {
        lock (_lock) return _users.TryGetValue(name, out var u) && !u.IsOrg;
    }

    public bool HasOrg(string name)
    {
        lock (_lock) return _users.TryGetValue(name, out var u) && u.IsOrg;
    }

    public bool IsSiteAdmin(string name)
    {
        lock (_lock) return _users.TryGetValue(name, out var u) && u.Admin;
    }

    public bool HasRepo(string owner, string repo)
    {
        lock (_lock) return _repos.Contains($"{owner}/{repo}");
    }

    /// <summary>The scopes of a token, or null when the forge never issued it.</summary>
    public IReadOnlyList<string>? ScopesOf(string token)
    {
        lock (_lock) return _tokens.FirstOrDefault(t => t.Value == token)?.Scopes;
    }

    public string? OwnerOf(string token)
    {
        lock (_lock) return _tokens.FirstOrDefault(t => t.Value == token)?.User;
    }

    /// <summary>
    /// A repository whose <c>main</c> has one commit holding <paramref name="files"/> (path → text), made as someone made it by
    /// hand; <paramref name="collaborators"/> may read and push it over git too (Forgejo's collaborators).
    /// </summary>
    public void AddRepo(string owner, string repo, IReadOnlyDictionary<string, string> files, params string[] collaborators)
    {
        LocalRepository.Seed(BareRepo(owner, repo), files);
        lock (_lock) _repos.Add($"{owner}/{repo}");
        _collaborators[$"{owner}/{repo}"] = collaborators;
    }

    private bool IsCollaborator(Caller caller, string owner, string repo) =>
        _collaborators.TryGetValue($"{owner}/{repo}", out var users) && users.Contains(caller.User.Name, StringComparer.OrdinalIgnoreCase);

    public string BareRepo(string owner, string repo) => Path.Combine(Root, owner.ToLowerInvariant(), repo.ToLowerInvariant() + ".git");

    public static async Task<FakeForgejo> StartAsync()
    {
        var forge = new FakeForgejo(Directory.CreateTempSubdirectory("fake-forgejo-").FullName);
        lock (forge._lock)
            forge._users[AdminUser] = new User { Name = AdminUser, Email = "root@example.invalid", Password = forge.AdminPassword, Admin = true };
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        forge.Map(app);
        await app.StartAsync();
        forge._app = app;
        forge.Url = new Uri(app.Urls.Single());
        return forge;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        // A git request still running (its client gone, Kestrel no longer waiting for it) ends with this fake: with its
        // repository deleted under it, git-http-backend spins for ever, orphaned once the test process ends.
        foreach (var git in _gits.Keys)
        {
            try { if (!git.HasExited) git.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Process, bool> _gits = new();

    private void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/api/v1", out var rest))
            {
                var route = $"{context.Request.Method} {RouteOf(rest.Value ?? "")}";
                _calls.AddOrUpdate(route, 1, (_, n) => n + 1);
                if (_faults.TryGetValue(route, out var fault))
                {
                    if (fault == Fault.NoAnswer) await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
                    else await Answer(context, 500, "injected failure");
                    return;
                }
            }
            await next(context);
        });

        // The user the credentials are (Forgejo: read:user).
        app.MapGet("/api/v1/user", (HttpContext c) => Api(c, caller =>
            caller!.Has("read:user") ? Json(c, 200, UserJson(caller.User, caller)) : Answer(c, 403, "token does not have required scope: read:user")));

        app.MapGet("/api/v1/users/{name}", (HttpContext c, string name) => Api(c, caller =>
        {
            if (!Find(name, out var user) || user.IsOrg) return Answer(c, 404, "user does not exist");
            return Json(c, 200, UserJson(user, caller));
        }, anonymous: true));

        app.MapPost("/api/v1/admin/users", (HttpContext c) => Api(c, async caller =>
        {
            if (!caller!.User.Admin || !caller.Has("write:admin")) { await Answer(c, 403, "token does not have required scope: write:admin"); return; }
            var body = await Body(c);
            var name = body?["username"]?.GetValue<string>();
            var email = body?["email"]?.GetValue<string>();
            if (name is null || email is null) { await Answer(c, 422, "[Username]: Required; [Email]: Required"); return; }
            if (_reserved.ContainsKey(name)) { await Answer(c, 422, $"name is reserved [name: {name}]"); return; }
            await Reply(c, () =>
            {
                if (_users.ContainsKey(name)) return (422, Error("user already exists [name: " + name + "]"));
                if (_users.Values.Any(u => string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase)))
                    return (422, Error("e-mail already in use [email: " + email + "]"));
                var user = _users[name] = new User
                {
                    Name = name, Email = email, Password = body!["password"]?.GetValue<string>() ?? "",
                    MustChangePassword = body["must_change_password"]?.GetValue<bool>() ?? true,
                };
                return (201, UserJson(user, caller));
            });
        }));

        app.MapMethods("/api/v1/admin/users/{name}", ["PATCH"], (HttpContext c, string name) => Api(c, async caller =>
        {
            if (!caller!.User.Admin || !caller.Has("write:admin")) { await Answer(c, 403, "token does not have required scope: write:admin"); return; }
            var body = await Body(c);
            if (body?["login_name"] is null || body["source_id"] is null) { await Answer(c, 422, "[LoginName]: Required; [SourceID]: Required"); return; }
            await Reply(c, () =>
            {
                if (!_users.TryGetValue(name, out var user) || user.IsOrg) return (404, Error("user does not exist"));
                if (body["admin"] is { } admin) user.Admin = admin.GetValue<bool>();
                if (body["password"] is { } password) user.Password = password.GetValue<string>();
                if (body["must_change_password"] is { } must) user.MustChangePassword = must.GetValue<bool>();
                return (200, UserJson(user, caller));
            });
        }));

        app.MapPost("/api/v1/users/{name}/tokens", (HttpContext c, string name) => Api(c, async caller =>
        {
            if (!caller!.Basic) { await Answer(c, 401, "auth required: basic authentication only"); return; }
            if (!string.Equals(caller.User.Name, name, StringComparison.OrdinalIgnoreCase) && !caller.User.Admin)
            {
                await Answer(c, 403, "you can only create tokens for yourself");
                return;
            }
            var body = await Body(c);
            var tokenName = body?["name"]?.GetValue<string>();
            var scopes = body?["scopes"]?.AsArray().Select(s => s!.GetValue<string>()).ToArray() ?? [];
            if (tokenName is null) { await Answer(c, 422, "[Name]: Required"); return; }
            await Reply(c, () =>
            {
                if (!_users.TryGetValue(name, out var user) || user.IsOrg) return (404, Error("user does not exist"));
                if (_tokens.Any(t => t.User == user.Name && t.Name == tokenName)) return (400, Error("access token name has been used already"));
                var token = new Token(++_lastTokenId, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)), user.Name, tokenName, scopes);
                _tokens.Add(token);
                _everIssued.Add(token.Value);
                return (201, new JsonObject
                {
                    ["id"] = token.Id, ["name"] = tokenName, ["sha1"] = token.Value, ["token_last_eight"] = token.Value[^8..],
                    ["scopes"] = new JsonArray(scopes.Select(s => (JsonNode)s).ToArray()),
                });
            });
        }));

        // Listing and deleting tokens: Basic auth only, as the user or a site admin, like creating them.
        app.MapGet("/api/v1/users/{name}/tokens", (HttpContext c, string name) => Api(c, async caller =>
        {
            if (!caller!.Basic) { await Answer(c, 401, "auth required: basic authentication only"); return; }
            if (!string.Equals(caller.User.Name, name, StringComparison.OrdinalIgnoreCase) && !caller.User.Admin)
            {
                await Answer(c, 403, "you can only list your own tokens");
                return;
            }
            await Reply(c, () => !_users.TryGetValue(name, out var user) || user.IsOrg
                ? (404, Error("user does not exist"))
                : (200, new JsonArray(_tokens.Where(t => t.User == user.Name).Select(t => (JsonNode)new JsonObject
                {
                    ["id"] = t.Id, ["name"] = t.Name, ["token_last_eight"] = t.Value[^8..],
                    ["scopes"] = new JsonArray(t.Scopes.Select(x => (JsonNode)x).ToArray()),
                }).ToArray())));
        }));

        app.MapDelete("/api/v1/users/{name}/tokens/{token}", (HttpContext c, string name, string token) => Api(c, async caller =>
        {
            if (!caller!.Basic) { await Answer(c, 401, "auth required: basic authentication only"); return; }
            if (!string.Equals(caller.User.Name, name, StringComparison.OrdinalIgnoreCase) && !caller.User.Admin)
            {
                await Answer(c, 403, "you can only delete your own tokens");
                return;
            }
            await Reply(c, () =>
            {
                if (!_users.TryGetValue(name, out var user) || user.IsOrg) return (404, Error("user does not exist"));
                // Forgejo takes an id, or else a name.
                var match = _tokens.Where(t => t.User == user.Name && (long.TryParse(token, out var id) ? t.Id == id : t.Name == token)).ToList();
                if (match.Count == 0) return (404, Error("access token does not exist"));
                _tokens.Remove(match[0]);
                return (204, null);
            });
        }));

        app.MapGet("/api/v1/orgs/{org}", (HttpContext c, string org) => Api(c, _ =>
            Find(org, out var o) && o.IsOrg ? Json(c, 200, new JsonObject { ["username"] = o.Name }) : Answer(c, 404, "org does not exist"),
            anonymous: true));

        app.MapPost("/api/v1/orgs", (HttpContext c) => Api(c, async caller =>
        {
            if (!caller!.Has("write:organization")) { await Answer(c, 403, "token does not have required scope: write:organization"); return; }
            var name = (await Body(c))?["username"]?.GetValue<string>();
            if (name is null) { await Answer(c, 422, "[UserName]: Required"); return; }
            if (_reserved.ContainsKey(name)) { await Answer(c, 422, $"name is reserved [name: {name}]"); return; }
            await Reply(c, () =>
            {
                if (_users.ContainsKey(name)) return (422, Error("user already exists [name: " + name + "]"));
                _users[name] = new User { Name = name, Email = "", IsOrg = true, Owner = caller.User.Name };
                return (201, new JsonObject { ["username"] = name });
            });
        }));

        app.MapGet("/api/v1/repos/{owner}/{repo}", (HttpContext c, string owner, string repo) => Api(c, caller =>
            HasRepo(owner, repo) && CanWrite(caller, owner)
                ? Json(c, 200, new JsonObject { ["full_name"] = $"{owner}/{repo}", ["private"] = true, ["empty"] = !HasCommits(owner, repo) })
                : Answer(c, 404, "repository does not exist"), anonymous: true));

        app.MapPost("/api/v1/admin/users/{name}/repos", (HttpContext c, string name) => Api(c, async caller =>
        {
            if (!caller!.User.Admin || !caller.Has("write:admin")) { await Answer(c, 403, "token does not have required scope: write:admin"); return; }
            await CreateRepoAsync(c, name);
        }));

        app.MapPost("/api/v1/orgs/{org}/repos", (HttpContext c, string org) => Api(c, async caller =>
        {
            if (!caller!.Has("write:repository")) { await Answer(c, 403, "token does not have required scope: write:repository"); return; }
            if (!HasOrg(org)) { await Answer(c, 404, "org does not exist"); return; }
            if (!CanWrite(caller, org)) { await Answer(c, 403, "not an owner of the org"); return; }
            await CreateRepoAsync(c, org);
        }));

        app.MapGet("/api/v1/users/{name}/repos", (HttpContext c, string name) => Api(c, caller =>
        {
            if (!Find(name, out var user)) return Answer(c, 404, "user does not exist");
            var limit = int.TryParse(c.Request.Query["limit"], out var l) ? Math.Clamp(l, 1, 50) : 30;
            var page = int.TryParse(c.Request.Query["page"], out var p) ? Math.Max(1, p) : 1;
            List<string> repos;
            lock (_lock)
                repos = _repos.Where(r => r.StartsWith(user.Name + "/", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
            // Private repositories show to their owner and to site admins only.
            if (!CanWrite(caller, user.Name)) repos = [];
            var array = new JsonArray();
            foreach (var repo in repos.Skip((page - 1) * limit).Take(limit))
                array.Add(new JsonObject { ["full_name"] = repo, ["name"] = repo[(repo.IndexOf('/') + 1)..], ["private"] = true });
            return Json(c, 200, array);
        }));

        app.MapGet("/api/v1/repos/{owner}/{repo}/hooks", (HttpContext c, string owner, string repo) => Api(c, caller =>
        {
            if (!HasRepo(owner, repo) || !CanWrite(caller, owner)) return Answer(c, 404, "repository does not exist");
            var array = new JsonArray();
            foreach (var hook in Hooks(owner, repo)) array.Add(HookJson(hook));
            return Json(c, 200, array);
        }));

        app.MapPost("/api/v1/repos/{owner}/{repo}/hooks", (HttpContext c, string owner, string repo) => Api(c, async caller =>
        {
            if (!HasRepo(owner, repo) || !CanWrite(caller, owner)) { await Answer(c, 404, "repository does not exist"); return; }
            if (!caller!.Has("write:repository")) { await Answer(c, 403, "token does not have required scope: write:repository"); return; }
            var body = await Body(c);
            var type = body?["type"]?.GetValue<string>();
            var config = body?["config"] as JsonObject;
            var url = config?["url"]?.GetValue<string>();
            var contentType = config?["content_type"]?.GetValue<string>();
            if (type is not ("forgejo" or "gitea") || url is null || contentType is not ("json" or "form"))
            {
                await Answer(c, 422, "[Type]: invalid; [Config]: url and content_type required");
                return;
            }
            var events = (body!["events"] as JsonArray)?.Select(e => e!.GetValue<string>()).ToList() ?? ["push"];
            Hook hook;
            lock (_lock)
            {
                hook = new Hook(_hooks.Count + 1, type, url, contentType, config!["secret"]?.GetValue<string>() ?? "", events);
                _hooks.Add(($"{owner}/{repo}", hook));
            }
            await Json(c, 201, HookJson(hook));
        }));

        // Pull requests between branches of one repository: opened by someone who may push it (write:repository), one open
        // request per head and base (409 for another), marked merged by hand (Do: manually-merged) with a commit on its base.
        app.MapPost("/api/v1/repos/{owner}/{repo}/pulls", (HttpContext c, string owner, string repo) => Api(c, async caller =>
        {
            if (!HasRepo(owner, repo) || !(CanWrite(caller, owner) || IsCollaborator(caller!, owner, repo))) { await Answer(c, 404, "repository does not exist"); return; }
            if (!caller!.Has("write:repository")) { await Answer(c, 403, "token does not have required scope: write:repository"); return; }
            var body = await Body(c);
            var (head, @base, title) = (body?["head"]?.GetValue<string>(), body?["base"]?.GetValue<string>(), body?["title"]?.GetValue<string>());
            if (head is null || @base is null || title is not { Length: > 0 }) { await Answer(c, 422, "[Head]: Required; [Base]: Required; [Title]: Required"); return; }
            var bare = BareRepo(owner, repo);
            if (LocalRepository.LogOf(bare, head).Count == 0 || LocalRepository.LogOf(bare, @base).Count == 0) { await Answer(c, 404, "branch does not exist"); return; }
            await Reply(c, () =>
            {
                if (_pulls.Any(p => string.Equals(p.Repo, $"{owner}/{repo}", StringComparison.OrdinalIgnoreCase) && p.Head == head && p.Base == @base && !p.Merged))
                    return (409, Error($"pull request already exists for these targets [head: {head}, base: {@base}]"));
                var pull = new Pull($"{owner}/{repo}", _pulls.Count(p => string.Equals(p.Repo, $"{owner}/{repo}", StringComparison.OrdinalIgnoreCase)) + 1,
                    head, @base, title, body!["body"]?.GetValue<string>() ?? "", caller.User.Name);
                _pulls.Add(pull);
                return (201, PullJson(pull));
            });
        }));

        app.MapGet("/api/v1/repos/{owner}/{repo}/pulls/{index:long}", (HttpContext c, string owner, string repo, long index) => Api(c, caller =>
        {
            if (!HasRepo(owner, repo) || !(CanWrite(caller, owner) || IsCollaborator(caller!, owner, repo))) return Answer(c, 404, "repository does not exist");
            var pull = Pulls(owner, repo).FirstOrDefault(p => p.Number == index);
            return pull is null ? Answer(c, 404, "pull request does not exist") : Json(c, 200, PullJson(pull));
        }));

        app.MapGet("/api/v1/repos/{owner}/{repo}/pulls/{base}/{**head}", (HttpContext c, string owner, string repo, string @base, string head) => Api(c, caller =>
        {
            if (!HasRepo(owner, repo) || !(CanWrite(caller, owner) || IsCollaborator(caller!, owner, repo))) return Answer(c, 404, "repository does not exist");
            var pull = Pulls(owner, repo).LastOrDefault(p => p.Base == @base && p.Head == head);
            return pull is null ? Answer(c, 404, "pull request does not exist") : Json(c, 200, PullJson(pull));
        }));

        app.MapPost("/api/v1/repos/{owner}/{repo}/pulls/{index:long}/merge", (HttpContext c, string owner, string repo, long index) => Api(c, async caller =>
        {
            if (!HasRepo(owner, repo) || !(CanWrite(caller, owner) || IsCollaborator(caller!, owner, repo))) { await Answer(c, 404, "repository does not exist"); return; }
            if (!caller!.Has("write:repository")) { await Answer(c, 403, "token does not have required scope: write:repository"); return; }
            var body = await Body(c);
            var commit = body?["MergeCommitID"]?.GetValue<string>();
            if (body?["Do"]?.GetValue<string>() != "manually-merged" || commit is null) { await Answer(c, 422, "only Do: manually-merged with MergeCommitID is spoken here"); return; }
            var pull = Pulls(owner, repo).FirstOrDefault(p => p.Number == index);
            if (pull is null) { await Answer(c, 404, "pull request does not exist"); return; }
            if (pull.Merged) { await Answer(c, 405, "The PR is already merged"); return; }
            // Forgejo checks the commit is on the base and holds the head.
            var bare = BareRepo(owner, repo);
            if (!LocalRepository.IsAncestor(bare, commit, pull.Base) || !LocalRepository.IsAncestor(bare, pull.Head, commit))
            {
                await Answer(c, 405, "the merge commit is not on the base or does not hold the head");
                return;
            }
            lock (_lock)
            {
                pull.Merged = true;
                pull.MergedBy = caller.User.Name;
                pull.MergeCommit = commit;
            }
            c.Response.StatusCode = 200;
        }));

        // git smart HTTP: /{owner}/{repo}(.git)/info/refs, /git-upload-pack, /git-receive-pack.
        app.Map("/{owner}/{repo}/{**rest}", GitAsync);
    }

    /// <summary>An empty bare repository (its first push sets its default branch); 409 when it exists, 404 without its owner.</summary>
    private async Task CreateRepoAsync(HttpContext c, string owner)
    {
        var name = (await Body(c))?["name"]?.GetValue<string>();
        if (name is null) { await Answer(c, 422, "[Name]: Required"); return; }
        int status;
        lock (_lock) status = !_users.ContainsKey(owner) ? 404 : _repos.Add($"{owner}/{name}") ? 201 : 409;
        if (status == 404) { await Answer(c, 404, "user does not exist"); return; }
        if (status == 409) { await Answer(c, 409, "The repository with the same name already exists."); return; }
        var bare = BareRepo(owner, name);
        Directory.CreateDirectory(bare);
        LocalRepository.Git(bare, "init", "-q", "--bare", "-b", "main");
        await Json(c, 201, new JsonObject { ["full_name"] = $"{owner}/{name}", ["private"] = true, ["empty"] = true });
    }

    private bool Find(string name, out User user)
    {
        lock (_lock) return _users.TryGetValue(name, out user!);
    }

    private bool CanWrite(Caller? caller, string owner)
    {
        if (caller is null) return false;
        lock (_lock)
            return caller.User.Admin || string.Equals(caller.User.Name, owner, StringComparison.OrdinalIgnoreCase)
                || (_users.TryGetValue(owner, out var o) && o.IsOrg && string.Equals(o.Owner, caller.User.Name, StringComparison.OrdinalIgnoreCase));
    }

    private bool HasCommits(string owner, string repo) =>
        Directory.Exists(Path.Combine(BareRepo(owner, repo), "refs", "heads")) && Directory.EnumerateFiles(Path.Combine(BareRepo(owner, repo), "refs", "heads")).Any()
        || File.Exists(Path.Combine(BareRepo(owner, repo), "packed-refs"));

    /// <summary>"/users/{name}/tokens" for "/users/bob/tokens": the route a call was made to, for the counts and faults.</summary>
    private static string RouteOf(string path)
    {
        var parts = path.Trim('/').Split('/');
        return parts switch
        {
            ["users", _] => "/users/{name}",
            ["users", _, "tokens"] => "/users/{name}/tokens",
            ["users", _, "tokens", _] => "/users/{name}/tokens/{token}",
            ["admin", "users"] => "/admin/users",
            ["admin", "users", _] => "/admin/users/{name}",
            ["orgs"] => "/orgs",
            ["orgs", _] => "/orgs/{org}",
            ["orgs", _, "repos"] => "/orgs/{org}/repos",
            ["admin", "users", _, "repos"] => "/admin/users/{name}/repos",
            ["repos", _, _] => "/repos/{owner}/{repo}",
            ["repos", _, _, "hooks"] => "/repos/{owner}/{repo}/hooks",
            ["repos", _, _, "pulls"] => "/repos/{owner}/{repo}/pulls",
            ["repos", _, _, "pulls", _, "merge"] => "/repos/{owner}/{repo}/pulls/{index}/merge",
            ["repos", _, _, "pulls", _] => "/repos/{owner}/{repo}/pulls/{index}",
            ["repos", _, _, "pulls", ..] => "/repos/{owner}/{repo}/pulls/{base}/{head}",
            ["users", _, "repos"] => "/users/{name}/repos",
            _ => path,
        };
    }

    /// <summary>Authenticates as Forgejo's API does, then runs <paramref name="handle"/>; 401 for bad credentials, 403 while a password must change.</summary>
    private async Task Api(HttpContext context, Func<Caller?, Task> handle, bool anonymous = false)
    {
        var header = context.Request.Headers.Authorization.ToString();
        Caller? caller = null;
        if (header.Length > 0)
        {
            caller = Authenticate(header, api: true);
            if (caller is null) { await Answer(context, 401, "user does not exist or the credentials are wrong"); return; }
            if (caller.Basic && caller.User.MustChangePassword) { await Answer(context, 403, "You must change your password. Change it at: /user/change_password"); return; }
        }
        else if (!anonymous)
        {
            await Answer(context, 401, "auth required");
            return;
        }
        await handle(caller);
    }

    private Caller? Authenticate(string header, bool api)
    {
        var space = header.IndexOf(' ');
        if (space < 0) return null;
        var (scheme, value) = (header[..space], header[(space + 1)..].Trim());
        lock (_lock)
        {
            if (scheme.Equals("token", StringComparison.OrdinalIgnoreCase) || scheme.Equals("bearer", StringComparison.OrdinalIgnoreCase))
                return ByToken(value);
            if (!scheme.Equals("basic", StringComparison.OrdinalIgnoreCase)) return null;
            string decoded;
            try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value)); } catch (FormatException) { return null; }
            var colon = decoded.IndexOf(':');
            if (colon < 0) return null;
            var (name, password) = (decoded[..colon], decoded[(colon + 1)..]);
            // Git over HTTP: a token as the password (any user name), or as the user name with no password.
            if (!api && (ByToken(password) ?? (password.Length == 0 ? ByToken(name) : null)) is { } byToken) return byToken;
            return _users.TryGetValue(name, out var user) && !user.IsOrg && user.Password.Length > 0
                   && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(user.Password), Encoding.UTF8.GetBytes(password))
                ? new Caller(user, null, Basic: true)
                : null;
        }

        Caller? ByToken(string value) =>
            _tokens.FirstOrDefault(t => t.Value == value) is { } token && _users.TryGetValue(token.User, out var owner)
                ? new Caller(owner, token.Scopes, Basic: false)
                : null;
    }

    private async Task GitAsync(HttpContext context)
    {
        _gitAuthorizations.Enqueue(context.Request.Headers.Authorization.ToString());
        if (RedirectGitTo is { } elsewhere)
        {
            context.Response.Redirect(new Uri(elsewhere, context.Request.Path + context.Request.QueryString).ToString());
            return;
        }
        var owner = (string)context.Request.RouteValues["owner"]!;
        var repo = ((string)context.Request.RouteValues["repo"]!).Replace(".git", "", StringComparison.OrdinalIgnoreCase);
        var rest = (string?)context.Request.RouteValues["rest"] ?? "";
        var service = context.Request.Query["service"].ToString();
        var push = rest == "git-receive-pack" || service == "git-receive-pack";
        var caller = context.Request.Headers.Authorization.ToString() is { Length: > 0 } header ? Authenticate(header, api: false) : null;
        if (caller is null || !HasRepo(owner, repo) || !(CanWrite(caller, owner) || IsCollaborator(caller, owner, repo)) || !caller.Has(push ? "write:repository" : "read:repository"))
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"Gitea\"";
            await Answer(context, 401, "authentication required");
            return;
        }
        if (RefuseGit) { await Answer(context, 500, "injected git failure"); return; }
        if (GitDelay > TimeSpan.Zero) await Task.Delay(GitDelay, context.RequestAborted);
        var info = new ProcessStartInfo("git", ["http-backend"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.Environment["GIT_PROJECT_ROOT"] = Root;
        info.Environment["GIT_HTTP_EXPORT_ALL"] = "1";
        info.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        info.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        info.Environment["PATH_INFO"] = $"/{owner.ToLowerInvariant()}/{repo.ToLowerInvariant()}.git/{rest}";
        info.Environment["REQUEST_METHOD"] = context.Request.Method;
        info.Environment["QUERY_STRING"] = context.Request.QueryString.Value?.TrimStart('?') ?? "";
        info.Environment["CONTENT_TYPE"] = context.Request.ContentType ?? "";
        if (context.Request.ContentLength is { } length) info.Environment["CONTENT_LENGTH"] = length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["REMOTE_USER"] = caller.User.Name;
        info.Environment["REMOTE_ADDR"] = "127.0.0.1";
        info.Environment["HTTP_CONTENT_ENCODING"] = context.Request.Headers.ContentEncoding.ToString();
        info.Environment["GIT_PROTOCOL"] = context.Request.Headers["Git-Protocol"].ToString();
        using var git = Process.Start(info)!;
        _gits[git] = true;
        try
        {
            await ServeGitAsync(context, git);
        }
        finally
        {
            _gits.TryRemove(git, out _);
            // A request cut off (the caller gone, this fake disposed) must not leave git behind: with its repository deleted
            // under it, git-http-backend was seen spinning for half an hour after the test run.
            if (!git.HasExited)
            {
                try { git.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
        }
    }

    private static async Task ServeGitAsync(HttpContext context, Process git)
    {
        var stderr = git.StandardError.ReadToEndAsync();
        var feed = Task.Run(async () =>
        {
            await context.Request.Body.CopyToAsync(git.StandardInput.BaseStream);
            git.StandardInput.Close();
        });
        var output = git.StandardOutput.BaseStream;
        // CGI: header lines up to a blank line, then the body.
        var headers = new List<string>();
        var line = new List<byte>();
        while (true)
        {
            var b = output.ReadByte();
            if (b < 0) break;
            if (b == '\n')
            {
                var text = Encoding.ASCII.GetString(line.ToArray()).TrimEnd('\r');
                line.Clear();
                if (text.Length == 0) break;
                headers.Add(text);
            }
            else line.Add((byte)b);
        }
        context.Response.StatusCode = 200;
        foreach (var cgiHeader in headers)
        {
            var colon = cgiHeader.IndexOf(':');
            if (colon < 0) continue;
            var (name, value) = (cgiHeader[..colon].Trim(), cgiHeader[(colon + 1)..].Trim());
            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase)) context.Response.StatusCode = int.Parse(value.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            else context.Response.Headers[name] = value;
        }
        await output.CopyToAsync(context.Response.Body, context.RequestAborted);
        await feed;
        await git.WaitForExitAsync(context.RequestAborted);
        _ = await stderr;
    }

    private JsonObject UserJson(User user, Caller? caller)
    {
        var sees = caller is not null && (caller.User.Admin || caller.User == user);
        return new JsonObject { ["id"] = 1, ["login"] = user.Name, ["email"] = sees ? user.Email : "", ["is_admin"] = user.Admin };
    }

    private JsonObject PullJson(Pull pull)
    {
        lock (_lock)
            return new JsonObject
            {
                ["number"] = pull.Number, ["title"] = pull.Title, ["body"] = pull.Body, ["state"] = pull.Merged ? "closed" : "open", ["merged"] = pull.Merged,
                ["html_url"] = new Uri(Url, $"{pull.Repo}/pulls/{pull.Number}").ToString(), ["user"] = new JsonObject { ["login"] = pull.User },
                ["head"] = new JsonObject { ["ref"] = pull.Head }, ["base"] = new JsonObject { ["ref"] = pull.Base },
                ["merge_commit_sha"] = pull.MergeCommit,
            };
    }

    /// <summary>A hook as Forgejo's API shows it: no secret.</summary>
    private static JsonObject HookJson(Hook hook) => new()
    {
        ["id"] = hook.Id, ["type"] = hook.Type, ["active"] = true,
        ["config"] = new JsonObject { ["url"] = hook.Url, ["content_type"] = hook.ContentType },
        ["events"] = new JsonArray(hook.Events.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray()),
    };

    private static async Task<JsonNode?> Body(HttpContext context)
    {
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Task Json(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString());
    }

    private static Task Answer(HttpContext context, int status, string message) => Json(context, status, Error(message));

    private static JsonObject Error(string message) => new() { ["message"] = message, ["url"] = "http://forge.invalid/api/swagger" };

    /// <summary>Decides under the lock, answers outside it.</summary>
    /// <summary>Decides under the lock and answers; a null body is an empty answer (204).</summary>
    private Task Reply(HttpContext context, Func<(int Status, JsonNode? Body)> decide)
    {
        (int Status, JsonNode? Body) answer;
        lock (_lock) answer = decide();
        if (answer.Body is not null) return Json(context, answer.Status, answer.Body);
        context.Response.StatusCode = answer.Status;
        return Task.CompletedTask;
    }
}
