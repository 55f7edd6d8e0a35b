using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hive.Contracts.Json;

namespace Hive.Features.Forge;

/// <summary>How a call proves who it is: a token (<c>Authorization: token</c>) or a user's password (Basic).</summary>
internal abstract record ForgeAuth
{
    public sealed record Token(string Value) : ForgeAuth
    {
        public override string ToString() => "a token"; // records print their fields; a token must never reach a log
    }

    public sealed record Password(string User, string Secret) : ForgeAuth
    {
        public override string ToString() => $"{User}'s password";
    }

    /// <summary>The secret itself, for redaction only.</summary>
    public string Credential => this switch
    {
        Token t => t.Value,
        Password p => p.Secret,
        _ => "",
    };

    public AuthenticationHeaderValue Header => this switch
    {
        Token t => new AuthenticationHeaderValue("token", t.Value),
        Password p => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{p.User}:{p.Secret}"))),
        _ => throw new InvalidOperationException(),
    };
}

/// <summary>A forge call that failed: what it was and what the forge said (its status, when it answered); never a credential.</summary>
internal sealed class ForgeException(string message, int? status = null) : Exception(message)
{
    public int? Status { get; } = status;
}

/// <summary>An access token as a listing shows it: never the token itself.</summary>
internal sealed record ForgeTokenInfo(long Id, string Name);

/// <summary>A Forgejo user as the API shows it (the fields Hive reads).</summary>
internal sealed record ForgeUser(string Login, string? Email, bool IsAdmin);

/// <summary>
/// The Forgejo API calls the sweep needs, with Forgejo's status codes read as <c>forgejo-api.md</c> says. A create is
/// idempotent by create-then-verify: after a 409 or 422 the thing is "already there" only if its GET answers 200 (a
/// reserved or invalid name answers 422 too). No redirects are followed, and no error message carries a credential.
/// </summary>
internal sealed class ForgejoClient(HttpClient http)
{
    public async Task<ForgeUser?> FindUserAsync(string name, ForgeAuth auth, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, $"users/{Segment(name)}", null, auth, $"looking up user {name}", ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await ForgeAnswers.EnsureAsync(response, HttpStatusCode.OK, $"looking up user {name}", ct, auth.Credential);
        return ForgeAnswers.ReadUser(await ForgeAnswers.ReadJsonAsync(response, $"looking up user {name}", ct), $"looking up user {name}");
    }

    /// <summary>Creates a user (admin API) unless it is there; true when this call created it.</summary>
    public async Task<(ForgeUser User, bool Created)> EnsureUserAsync(string name, string email, ForgeAuth admin, CancellationToken ct)
    {
        if (await FindUserAsync(name, admin, ct) is { } existing) return (existing, false);
        var what = $"creating user {name}";
        var body = new
        {
            username = name, email, password = NewSecret(), must_change_password = false, login_name = name, source_id = 0,
            visibility = "private", send_notify = false,
        };
        using var response = await SendAsync(HttpMethod.Post, "admin/users", body, admin, what, ct);
        if (response.StatusCode == HttpStatusCode.Created) return (ForgeAnswers.ReadUser(await ForgeAnswers.ReadJsonAsync(response, what, ct), what), true);
        if (response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.Conflict
            && await FindUserAsync(name, admin, ct) is { } raced)
            return (raced, false);
        throw await ForgeAnswers.FailureAsync(response, what, ct, admin.Credential, body.password);
    }

    /// <summary><c>PATCH /admin/users/{name}</c>: <c>login_name</c> and <c>source_id</c> first (older versions want them), then the changes.</summary>
    public async Task EditUserAsync(string name, ForgeAuth admin, bool? makeAdmin, string? password, CancellationToken ct)
    {
        var body = new Dictionary<string, object> { ["login_name"] = name, ["source_id"] = 0 };
        if (makeAdmin is { } isAdmin) body["admin"] = isAdmin;
        if (password is not null)
        {
            body["password"] = password;
            body["must_change_password"] = false;
        }
        var what = makeAdmin == true ? $"making {name} a site admin" : $"setting a new password for {name}";
        using var response = await SendAsync(HttpMethod.Patch, $"admin/users/{Segment(name)}", body, admin, what, ct);
        await ForgeAnswers.EnsureAsync(response, HttpStatusCode.OK, what, ct, admin.Credential, password);
    }

    /// <summary>Mints an access token (Basic auth only, the user's own password); returns it (Forgejo shows it once).</summary>
    public async Task<string> CreateTokenAsync(string user, string password, string tokenName, IReadOnlyList<string> scopes, CancellationToken ct)
    {
        var what = $"issuing a token for {user}";
        using var response = await SendAsync(HttpMethod.Post, $"users/{Segment(user)}/tokens", new { name = tokenName, scopes },
            new ForgeAuth.Password(user, password), what, ct);
        await ForgeAnswers.EnsureAsync(response, HttpStatusCode.Created, what, ct, password);
        var answer = await ForgeAnswers.ReadJsonAsync(response, what, ct);
        var token = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("sha1", out var sha1) && sha1.ValueKind == JsonValueKind.String
            ? sha1.GetString()
            : null;
        return token is { Length: > 0 } ? token : throw new ForgeException($"{what}: the forge answered 201 without the token");
    }

    /// <summary>A user's access tokens (id and name; Forgejo never shows a token again), as the user (Basic auth only).</summary>
    public async Task<IReadOnlyList<ForgeTokenInfo>> ListTokensAsync(string user, string password, CancellationToken ct)
    {
        var what = $"listing the tokens of {user}";
        using var response = await SendAsync(HttpMethod.Get, $"users/{Segment(user)}/tokens", null, new ForgeAuth.Password(user, password), what, ct);
        await ForgeAnswers.EnsureAsync(response, HttpStatusCode.OK, what, ct, password);
        var answer = await ForgeAnswers.ReadJsonAsync(response, what, ct);
        if (answer.ValueKind != JsonValueKind.Array) throw new ForgeException($"{what}: the forge's answer is not a list");
        return answer.EnumerateArray()
            .Where(t => t.ValueKind == JsonValueKind.Object
                        && t.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number
                        && t.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
            .Select(t => new ForgeTokenInfo(t.GetProperty("id").GetInt64(), t.GetProperty("name").GetString()!))
            .ToList();
    }

    /// <summary>Deletes one of a user's tokens by id, as the user (Basic auth only); one already gone counts as deleted.</summary>
    public async Task DeleteTokenAsync(string user, string password, long id, CancellationToken ct)
    {
        var what = $"revoking token {id} of {user}";
        using var response = await SendAsync(HttpMethod.Delete, $"users/{Segment(user)}/tokens/{id}", null, new ForgeAuth.Password(user, password), what, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return;
        await ForgeAnswers.EnsureAsync(response, HttpStatusCode.NoContent, what, ct, password);
    }

    /// <summary>Creates an organisation (as the calling user, who owns it) unless it is there; true when created.</summary>
    public async Task<bool> EnsureOrgAsync(string org, ForgeAuth auth, CancellationToken ct)
    {
        if (await ExistsAsync($"orgs/{Segment(org)}", auth, $"looking up org {org}", ct)) return false;
        var what = $"creating org {org}";
        using var response = await SendAsync(HttpMethod.Post, "orgs", new { username = org, visibility = "private" }, auth, what, ct);
        if (response.StatusCode == HttpStatusCode.Created) return true;
        if (response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.Conflict
            && await ExistsAsync($"orgs/{Segment(org)}", auth, $"looking up org {org}", ct))
            return false;
        throw await ForgeAnswers.FailureAsync(response, what, ct, auth.Credential);
    }

    /// <summary>
    /// Creates an empty private repository owned by a user (admin API: <c>POST /admin/users/{owner}/repos</c>) unless it is
    /// there; no initial commit, since Hive pushes its own history. True when created.
    /// </summary>
    public async Task<bool> EnsureUserRepoAsync(string owner, string repo, ForgeAuth admin, CancellationToken ct)
    {
        var path = $"repos/{Segment(owner)}/{Segment(repo)}";
        if (await ExistsAsync(path, admin, $"looking up repo {owner}/{repo}", ct)) return false;
        var what = $"creating repo {owner}/{repo}";
        using var response = await SendAsync(HttpMethod.Post, $"admin/users/{Segment(owner)}/repos",
            new { name = repo, @private = true, auto_init = false, default_branch = "main" }, admin, what, ct);
        if (response.StatusCode == HttpStatusCode.Created) return true;
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity
            && await ExistsAsync(path, admin, $"looking up repo {owner}/{repo}", ct))
            return false;
        throw await ForgeAnswers.FailureAsync(response, what, ct, admin.Credential);
    }

    /// <summary>The repositories a user owns (<c>owner/name</c>), every page (the forge's cap is 50 a page; at most 40 pages are read).</summary>
    public async Task<IReadOnlyList<string>> ListUserReposAsync(string user, ForgeAuth auth, CancellationToken ct)
    {
        const int limit = 50;
        var what = $"listing the repositories of {user}";
        var names = new List<string>();
        for (var page = 1; page <= 40; page++)
        {
            using var response = await SendAsync(HttpMethod.Get, $"users/{Segment(user)}/repos?limit={limit}&page={page}", null, auth, what, ct);
            if (response.StatusCode == HttpStatusCode.NotFound) return names; // no such user (yet): it owns nothing
            await ForgeAnswers.EnsureAsync(response, HttpStatusCode.OK, what, ct, auth.Credential);
            var answer = await ForgeAnswers.ReadJsonAsync(response, what, ct);
            if (answer.ValueKind != JsonValueKind.Array) throw new ForgeException($"{what}: the forge's answer is not a list");
            var count = 0;
            foreach (var repo in answer.EnumerateArray())
            {
                count++;
                if (repo.ValueKind == JsonValueKind.Object && repo.TryGetProperty("full_name", out var name) && name.ValueKind == JsonValueKind.String)
                    names.Add(name.GetString()!);
            }
            if (count < limit) break;
        }
        return names;
    }

    /// <summary>The addresses of a repository's webhooks (Forgejo never shows their secrets again).</summary>
    public async Task<IReadOnlyList<string>> ListHookUrlsAsync(string repository, ForgeAuth auth, CancellationToken ct)
    {
        var what = $"listing the webhooks of {repository}";
        using var response = await SendAsync(HttpMethod.Get, $"repos/{RepositoryPath(repository)}/hooks?limit=50", null, auth, what, ct);
        await ForgeAnswers.EnsureAsync(response, HttpStatusCode.OK, what, ct, auth.Credential);
        var answer = await ForgeAnswers.ReadJsonAsync(response, what, ct);
        if (answer.ValueKind != JsonValueKind.Array) throw new ForgeException($"{what}: the forge's answer is not a list");
        return answer.EnumerateArray()
            .Where(h => h.ValueKind == JsonValueKind.Object && h.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object
                        && c.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String)
            .Select(h => h.GetProperty("config").GetProperty("url").GetString()!)
            .ToList();
    }

    /// <summary>
    /// Adds a webhook of type <c>forgejo</c> (JSON bodies, signed with <paramref name="secret"/>) for <paramref name="events"/>;
    /// a Gitea, which knows no such type (422), gets its own type <c>gitea</c>, which signs the same way.
    /// </summary>
    public async Task CreateHookAsync(string repository, string url, string secret, IReadOnlyList<string> events, ForgeAuth auth, CancellationToken ct)
    {
        var what = $"adding the hive's webhook to {repository}";
        foreach (var type in new[] { "forgejo", "gitea" })
        {
            var body = new
            {
                type, active = true, events, branch_filter = "*",
                config = new Dictionary<string, string> { ["url"] = url, ["content_type"] = "json", ["secret"] = secret },
            };
            using var response = await SendAsync(HttpMethod.Post, $"repos/{RepositoryPath(repository)}/hooks", body, auth, what, ct);
            if (response.StatusCode == HttpStatusCode.UnprocessableEntity && type == "forgejo") continue;
            await ForgeAnswers.EnsureAsync(response, HttpStatusCode.Created, what, ct, auth.Credential, secret);
            return;
        }
    }

    internal static string RepositoryPath(string repository)
    {
        var slash = repository.IndexOf('/');
        return $"{Segment(repository[..slash])}/{Segment(repository[(slash + 1)..])}";
    }

    /// <summary>Whether the forge has <paramref name="repository"/> (owner/name) as <paramref name="auth"/> sees it.</summary>
    public Task<bool> RepoExistsAsync(string repository, ForgeAuth auth, CancellationToken ct)
    {
        var slash = repository.IndexOf('/');
        return ExistsAsync($"repos/{Segment(repository[..slash])}/{Segment(repository[(slash + 1)..])}", auth, $"looking up repository {repository}", ct);
    }

    /// <summary>A password nobody keeps: set, used once to mint a token, forgotten.</summary>
    public static string NewSecret() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24))
        .Replace('+', '-').Replace('/', '_');

    private async Task<bool> ExistsAsync(string path, ForgeAuth auth, string what, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, auth, what, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        await ForgeAnswers.EnsureAsync(response, HttpStatusCode.OK, what, ct, auth.Credential);
        return true;
    }

    internal async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, ForgeAuth auth, string what, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = auth.Header;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null) request.Content = JsonContent.Create(body, options: PlainJson);
        try
        {
            return await http.SendAsync(request, ct);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ForgeException($"{what}: the forge did not answer within {http.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            throw new ForgeException($"{what}: the forge cannot be reached ({e.Message})");
        }
    }

    internal static string Segment(string name) => Uri.EscapeDataString(name);

    // The forge's own field names, as written: HiveJson's policy would rename nothing here, but its strictness is for our wire.
    private static readonly JsonSerializerOptions PlainJson = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = null };
}
