using Hive.Contracts.Forge;
using Hive.Features.StateFiles;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>
/// One sweep's steps, each idempotent, as hyperhive's forge module took them (<c>ensure_core_user_and_token</c>,
/// <c>ensure_org</c>, <c>ensure_repo</c>, a user and token per agent): the site-admin <c>core</c> user and its token at
/// <c>&lt;DataDir&gt;/forge-core-token</c>; the org <c>agents</c>; the repo <c>core/meta</c>, owned by the <c>core</c>
/// user; for each agent a user of its name and a token at <c>&lt;state dir&gt;/forge-token</c>. A token file that exists
/// means "issued" (Forgejo shows a token once; a second would only pile up). A step that fails is logged with what failed
/// and the sweep goes on to the next.
/// <para>
/// No org <c>core</c>: Forgejo's users and orgs share one namespace, so beside the user <c>core</c> an org of that name
/// cannot exist (<c>POST /orgs</c> answers 422 "user already exists"). hyperhive's sweep read that 422 as "the org is
/// there"; the repo it then pushed to was the user's. Hive makes <c>core/meta</c> the user's repo on purpose.
/// </para>
/// </summary>
internal sealed class ForgeSweep(
    ForgejoClient forge, IOptions<ForgeOptions> options, HivePaths paths, TimeProvider clock, IStateFileWriter stateFiles, Webhooks.WebhookSecret webhookSecret,
    ILogger<ForgeSweep> logger)
{
    private readonly ForgeTokens _tokens = new(forge, clock, logger);

    /// <summary>The events the hive's webhook asks for (<c>pull_request</c> includes its review requests and its comments).</summary>
    public static readonly IReadOnlyList<string> WebhookEvents = ["push", "pull_request", "issue_comment", "status"];

    public static readonly IReadOnlyList<string> AgentScopes =
        ["read:user", "write:repository", "write:issue", "write:user", "write:organization", "write:misc"];

    /// <summary>The core user drives the admin API (agents' users) and pushes the meta repo.</summary>
    public static readonly IReadOnlyList<string> CoreScopes =
        ["write:admin", "read:user", "write:user", "write:organization", "write:repository", "write:misc"];

    public const string CoreUser = AgentNames.ForgeCore;
    public const string AgentsOrg = "agents";
    public const string MetaRepo = "meta";
    public const string TokenFileName = "forge-token";

    /// <summary>The names of the tokens the hive mints (a clock follows); tokens named otherwise are a person's and never revoked.</summary>
    public const string TokenPrefix = "hive-";

    public string CoreTokenFile => CoreTokenPath(paths);

    public static string CoreTokenPath(HivePaths paths) => Path.Combine(paths.DataDir, "forge-core-token");

    /// <summary>The core user and token, the orgs and the meta repo; the core token when the agents' steps can run.</summary>
    public async Task<(ForgeCore Core, ForgeAuth.Token? Token)> EnsureCoreAsync(CancellationToken ct)
    {
        bool user = false, token = false;
        string? issued = null;
        try
        {
            issued = TokenFile.Read(CoreTokenFile);
            // Once issued, the core token does everything; the bootstrap admin is needed only before.
            var bootstrap = Bootstrap();
            var admin = issued is not null ? new ForgeAuth.Token(issued) : bootstrap
                ?? throw new ForgeException("no core token yet and no bootstrap admin: set Hive:Forge:AdminUser and AdminPassword (or AdminToken)");
            try
            {
                await EnsureOwnUserAsync(CoreUser, admin, ct, siteAdmin: true);
            }
            catch (ForgeException e) when (e.Status == 401 && issued is not null)
            {
                // A forge reset, or the token revoked: with a bootstrap admin the core gets a new one; without, say what to do.
                if (bootstrap is null)
                    throw new ForgeException($"the core token in {CoreTokenFile} was refused (401): set a bootstrap admin (Hive:Forge:AdminUser and AdminPassword, or AdminToken) so a new one can be issued");
                logger.LogWarning("forge: the core token in {File} was refused (401); issuing a new one with the bootstrap admin", CoreTokenFile);
                (admin, issued) = (bootstrap, null);
                await EnsureOwnUserAsync(CoreUser, admin, ct, siteAdmin: true);
            }
            user = true;
            issued ??= await _tokens.IssueAsync(CoreUser, admin, CoreScopes, CoreTokenFile, () => TokenFile.Prepare(CoreTokenFile), ct);
            token = true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            var failure = e is ForgeException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            logger.LogWarning("forge: the core user: {Failure}", failure);
            return (new ForgeCore(user, token, false, false, failure, clock.GetUtcNow()), null);
        }

        var core = new ForgeAuth.Token(issued);
        var errors = new List<string>();
        var orgs = await StepAsync(errors, async () =>
        {
            if (await forge.EnsureOrgAsync(AgentsOrg, core, ct)) logger.LogInformation("forge: created org {Org}", AgentsOrg);
        });
        var repo = await StepAsync(errors, async () =>
        {
            if (await forge.EnsureUserRepoAsync(CoreUser, MetaRepo, core, ct)) logger.LogInformation("forge: created repo {Owner}/{Repo}", CoreUser, MetaRepo);
        });
        return (new ForgeCore(true, true, orgs, repo, errors.Count > 0 ? string.Join("; ", errors) : null, clock.GetUtcNow()), core);
    }

    /// <summary>The agent's user and its token file; what failed is logged and kept on the account.</summary>
    public async Task<ForgeAccount> EnsureAgentAsync(string agent, ForgeAuth.Token core, CancellationToken ct)
    {
        var file = Path.Combine(paths.AgentStateDir(agent), TokenFileName);
        var user = false;
        try
        {
            if (agent == CoreUser) throw new ForgeException($"{CoreUser} is the hive's own forge user: no agent gets its account");
            await EnsureOwnUserAsync(agent, core, ct, siteAdmin: false);
            user = true;
            if (!TokenFile.Exists(file)) await _tokens.IssueAsync(agent, core, AgentScopes, file, () => PrepareInStateDir(agent, file), ct);
            return new ForgeAccount(true, true, null, clock.GetUtcNow());
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Whatever went wrong with one agent (its state dir, say: the agent owns it) stays with that agent.
            var failure = e is ForgeException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            logger.LogWarning("forge: agent {Agent}: {Failure}", agent, failure);
            return new ForgeAccount(user, TokenFile.ExistsQuietly(file), failure, clock.GetUtcNow());
        }
    }

    /// <summary>
    /// The hive's webhook on each of <paramref name="repositories"/> (<c>owner/name</c>) that has none at
    /// <see cref="ForgeOptions.WebhookUrl"/> yet (listed first: a second sweep adds nothing); a repository that fails is
    /// logged and the rest go on. Returns the repositories that have it, and what failed.
    /// </summary>
    public async Task<ForgeWebhooks> EnsureWebhooksAsync(IEnumerable<string> repositories, ForgeAuth.Token core, CancellationToken ct)
    {
        var url = options.Value.WebhookUrl;
        var hooked = new List<string>();
        var errors = new List<string>();
        foreach (var repository in repositories.Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal))
        {
            try
            {
                if (!ForgeGit.IsRepository(repository)) throw new ForgeException($"{repository} is not a repository's owner/name");
                var hooks = await forge.ListHookUrlsAsync(repository, core, ct);
                if (!hooks.Any(h => string.Equals(h.TrimEnd('/'), url.TrimEnd('/'), StringComparison.Ordinal)))
                {
                    await forge.CreateHookAsync(repository, url, webhookSecret.Value, WebhookEvents, core, ct);
                    logger.LogInformation("forge: added the hive's webhook to {Repository}", repository);
                }
                hooked.Add(repository);
            }
            catch (ForgeException e)
            {
                logger.LogWarning("forge: the webhook of {Repository}: {Failure}", repository, e.Message);
                errors.Add(e.Message);
            }
        }
        return new ForgeWebhooks(url, hooked, errors.Count > 0 ? string.Join("; ", errors) : null, clock.GetUtcNow());
    }

    /// <summary>The repositories the agents' users own (a user that fails to list is logged and skipped).</summary>
    public async Task<IReadOnlyList<string>> AgentRepositoriesAsync(IEnumerable<string> agents, ForgeAuth.Token core, CancellationToken ct)
    {
        var repositories = new List<string>();
        foreach (var agent in agents.Where(a => a != CoreUser))
        {
            try
            {
                repositories.AddRange(await forge.ListUserReposAsync(agent, core, ct));
            }
            catch (ForgeException e)
            {
                logger.LogWarning("forge: the repositories of {Agent}: {Failure}", agent, e.Message);
            }
        }
        return repositories;
    }

    /// <summary>
    /// A user of this name that is the hive's: created when missing; one that exists already is taken only if its e-mail
    /// is the one the hive gives (a person's account of the same name is never taken over).
    /// </summary>
    private async Task EnsureOwnUserAsync(string name, ForgeAuth admin, CancellationToken ct, bool siteAdmin)
    {
        var (user, created) = await forge.EnsureUserAsync(name, EmailOf(name), admin, ct);
        if (created) logger.LogInformation("forge: created user {User}", name);
        else if (!IsOurs(user))
            throw new ForgeException($"a forge user named {name} exists and is not the hive's (its e-mail is not {EmailOf(name)}): it is left alone");
        if (siteAdmin && !user.IsAdmin)
        {
            await forge.EditUserAsync(name, admin, makeAdmin: true, password: null, ct);
            logger.LogInformation("forge: made {User} a site admin", name);
        }
    }

    private string EmailOf(string name) => $"{name}@{options.Value.EmailDomain}";

    private bool IsOurs(ForgeUser user) => string.Equals(user.Email, EmailOf(user.Login), StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Revokes every token the hive minted for an agent that left the hive (<c>hive-*</c>; a person's own tokens stay), so
    /// a copy of its token that outlived it (a leak, a backup) stops working. The user stays: its repositories may matter,
    /// and an agent of that name may come back. Not the core user, and not a user that is not the hive's.
    /// </summary>
    public async Task RevokeAgentAsync(string agent, ForgeAuth.Token core, CancellationToken ct)
    {
        if (agent == CoreUser || await forge.FindUserAsync(agent, core, ct) is not { } user || !IsOurs(user)) return;
        // As for minting: Forgejo manages tokens with Basic auth only, so a fresh password nobody keeps, used once.
        var password = ForgejoClient.NewSecret();
        await forge.EditUserAsync(agent, core, makeAdmin: null, password, CancellationToken.None);
        var revoked = await _tokens.RevokeHiveAsync(agent, password, keep: null);
        if (revoked > 0) logger.LogInformation("forge: revoked {Count} token(s) of {User}, which left the hive", revoked, agent);
    }

    /// <summary>An agent's token is written by StateFiles' writer: into the state dir the agent owns, never through a link it planted.</summary>
    private IPendingStateFile PrepareInStateDir(string agent, string file)
    {
        try
        {
            return stateFiles.PrepareReplace(agent, TokenFileName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ForgeException($"{file} cannot be written ({e.Message}), so no token is issued");
        }
    }

    /// <summary>The bootstrap admin the configuration names, if any (needed only until the core token exists).</summary>
    public ForgeAuth? Bootstrap()
    {
        var o = options.Value;
        if (o.AdminToken.Length > 0) return new ForgeAuth.Token(o.AdminToken);
        return o.AdminUser.Length > 0 && o.AdminPassword.Length > 0 ? new ForgeAuth.Password(o.AdminUser, o.AdminPassword) : null;
    }

    private async Task<bool> StepAsync(List<string> errors, Func<Task> step)
    {
        try
        {
            await step();
            return true;
        }
        catch (ForgeException e)
        {
            logger.LogWarning("forge: {Failure}", e.Message);
            errors.Add(e.Message);
            return false;
        }
    }
}
