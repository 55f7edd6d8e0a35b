using System.Collections.Immutable;
using Hive.Contracts.Forge;

namespace Hive.Features.Forge;

/// <summary>The hive's own part of the forge: the <c>core</c> user and token, the orgs, the meta repo, and the last push.</summary>
public sealed record ForgeCore(bool User, bool Token, bool Orgs, bool MetaRepo, string? Error, DateTimeOffset? CheckedAt);

/// <summary>The latest push of the meta repo to <c>core/meta</c>: which commit, and what failed (null: nothing).</summary>
public sealed record ForgePush(DateTimeOffset At, string? Commit, string? Error);

/// <summary>
/// The hive's webhook as the last whole sweep left it: the address registered (null: none set, so none registered), the
/// repositories that have it, and what failed. Never the secret.
/// </summary>
public sealed record ForgeWebhooks(string? Url, IReadOnlyList<string> Repositories, string? Error, DateTimeOffset CheckedAt);

/// <summary><c>GET /api/forge</c>: what the sweeps and pushes found. The URL is shown, never a credential.</summary>
public sealed record ForgeStatus(
    bool Enabled, string? Url, ForgeCore Core, ForgePush? LastPush, DateTimeOffset? LastSweepAt, IReadOnlyDictionary<string, ForgeAccount> Agents,
    ForgeWebhooks? Webhooks = null);

/// <summary>
/// What the sweeps found, in memory: the forge is the source of truth for it and every start-up sweeps again. Agent
/// accounts change only inside a state change (<see cref="ForgeSweeper"/>), so a cold load and the events agree.
/// </summary>
internal sealed class ForgeState
{
    private ImmutableDictionary<string, ForgeAccount> _accounts = ImmutableDictionary.Create<string, ForgeAccount>(StringComparer.Ordinal);
    private volatile ForgeCore _core = new(false, false, false, false, null, null);
    private volatile ForgePush? _lastPush;
    private DateTimeOffset? _lastSweepAt;
    private volatile ForgeWebhooks? _webhooks;

    public ForgeAccount? AccountOf(string agent) => _accounts.GetValueOrDefault(agent);

    /// <summary>Records an agent's account; true when its facts changed (an event is due).</summary>
    public bool SetAccount(string agent, ForgeAccount account)
    {
        var changed = false;
        ImmutableInterlocked.AddOrUpdate(ref _accounts, agent, _ => { changed = true; return account; },
            (_, old) => { changed = !account.SameAs(old); return account; });
        return changed;
    }

    public ForgeCore Core
    {
        get => _core;
        set => _core = value;
    }

    public ForgePush? LastPush
    {
        get => _lastPush;
        set => _lastPush = value;
    }

    public void SweepFinished(DateTimeOffset at) => _lastSweepAt = at;

    public ForgeWebhooks? Webhooks
    {
        get => _webhooks;
        set => _webhooks = value;
    }

    public ForgeStatus Status(ForgeOptions options, IEnumerable<string> agents) => new(
        options.Enabled, options.Enabled ? options.Url : null, _core, _lastPush, _lastSweepAt,
        agents.Where(_accounts.ContainsKey).ToDictionary(a => a, a => _accounts[a], StringComparer.Ordinal), _webhooks);
}
