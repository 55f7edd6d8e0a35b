using System.Threading.Channels;
using Hive.Contracts.Forge;
using Hive.Features.Containers;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>
/// Runs the sweeps, one at a time, in the background (never delaying the host or a spawn): the whole hive at start-up,
/// every <see cref="ForgeOptions.SweepMinutes"/> and when the operator asks; one agent as soon as it joins the directory
/// (a spawn, by the operator or an approval: the directory tells once the agent is in it). Requests that
/// arrive during a sweep are served together by the next. Each agent's account is recorded inside a state change, and
/// an event goes out when its facts changed. A whole sweep ends by pushing the meta repo (it may be behind the forge's).
/// An agent that leaves the directory has the tokens the hive minted for it revoked by the next sweep (retried by each
/// sweep after one that failed); the first sweep after start-up also revokes those of every tombstone (an agent destroyed
/// while the forge was down, or just before a restart, is not forgotten).
/// </summary>
internal sealed class ForgeSweeper(
    IServiceScopeFactory scopes, IOptions<ForgeOptions> options, IAgentDirectory directory, ForgeState state, MetaPusher pusher,
    StateChanges changes, Webhooks.WebhookSecret webhookSecret, TimeProvider clock, ILogger<ForgeSweeper> logger) : BackgroundService
{
    private sealed record Request(string? Agent, TaskCompletionSource? Done, bool Revoke = false);

    private readonly Channel<Request> _requests = Channel.CreateUnbounded<Request>();
    private long _completed;
    private bool _tombstonesSeen;
    private bool _webhookSkipSaid;

    /// <summary>Sweeps finished since start-up (tests wait on it).</summary>
    public long CompletedSweeps => Interlocked.Read(ref _completed);

    public void SweepAgent(string name) => _requests.Writer.TryWrite(new Request(name, null));

    private void RevokeAgent(string name) => _requests.Writer.TryWrite(new Request(name, null, Revoke: true));

    /// <summary>A whole sweep, queued behind the one running; completes when it has run.</summary>
    public async Task SweepAllAsync(CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Writer.TryWrite(new Request(null, done));
        await done.Task.WaitAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled) return;
        await Task.Yield(); // the start-up sweep runs beside the host, never before it
        try
        {
            _ = webhookSecret.Value; // made at start-up, so it is there before any hook is registered with it
        }
        catch (ForgeException e)
        {
            logger.LogWarning("forge: the webhook secret: {Failure}", e.Message);
        }
        // Subscribed before the first sweep lists the agents: an agent added in between is swept twice, never missed.
        using var spawns = directory.Subscribe(change =>
        {
            if (change.Kind == AgentChangeKind.Added) SweepAgent(change.Agent.Name);
            else RevokeAgent(change.Agent.Name);
        });
        var whole = true;
        var agents = new HashSet<string>(StringComparer.Ordinal);
        var departed = new HashSet<string>(StringComparer.Ordinal); // to revoke; a failed revocation stays for the next sweep
        var waiters = new List<TaskCompletionSource>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(whole ? null : agents, departed, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                logger.LogError(e, "forge: a sweep failed; the next one tries again");
            }
            Interlocked.Increment(ref _completed);
            foreach (var waiter in waiters) waiter.TrySetResult();
            (whole, agents, waiters) = (false, new HashSet<string>(StringComparer.Ordinal), []);

            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                var next = _requests.Reader.WaitToReadAsync(wait.Token).AsTask();
                var due = Task.Delay(TimeSpan.FromMinutes(options.Value.SweepMinutes), clock, wait.Token);
                var first = await Task.WhenAny(next, due);
                await wait.CancelAsync(); // the other one's timer or wait ends here
                if (stoppingToken.IsCancellationRequested) break;
                if (first == due) whole = true;
            }
            while (_requests.Reader.TryRead(out var request))
            {
                if (request.Agent is null) whole = true;
                else if (request.Revoke) departed.Add(request.Agent);
                else agents.Add(request.Agent);
                if (request.Done is not null) waiters.Add(request.Done);
            }
        }
        foreach (var waiter in waiters) waiter.TrySetCanceled(stoppingToken);
        while (_requests.Reader.TryRead(out var left)) left.Done?.TrySetCanceled(stoppingToken);
    }

    /// <summary>
    /// The core steps, then each agent (all of them, or those named) that is still in the directory, and the revocations of
    /// those that left it (removed from <paramref name="departed"/> once done; one that came back is left to its re-issue).
    /// </summary>
    private async Task SweepAsync(IReadOnlySet<string>? only, HashSet<string> departed, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var sweep = scope.ServiceProvider.GetRequiredService<ForgeSweep>();
        var (core, token) = await sweep.EnsureCoreAsync(ct);
        state.Core = core;
        if (token is not null && !_tombstonesSeen)
        {
            var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
            departed.UnionWith((await mediator.Send(new ListTombstones.Query(), ct)).Select(t => t.Name));
            _tombstonesSeen = true;
        }
        if (token is not null) await RevokeDepartedAsync(sweep, token, departed, ct);
        foreach (var agent in directory.List().Where(a => only is null || only.Contains(a.Name)))
        {
            var account = token is null
                ? new ForgeAccount(state.AccountOf(agent.Name)?.User ?? false, TokenFile.ExistsQuietly(Path.Combine(agent.StateDir, ForgeSweep.TokenFileName)),
                    $"the hive's own forge user is not ready: {core.Error}", clock.GetUtcNow())
                : await sweep.EnsureAgentAsync(agent.Name, token, ct);
            await RecordAsync(agent.Name, account, ct);
        }
        if (only is null && token is not null)
        {
            if (options.Value.WebhookUrl.Length > 0)
            {
                // The webhook on the agents' own repositories and the work layer's (Work, above, names those through Shared).
                var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
                var repositories = (await sweep.AgentRepositoriesAsync(directory.List().Select(a => a.Name), token, ct))
                    .Concat(await mediator.Send(new Hive.Shared.Work.ListWorkRepositories(), ct));
                state.Webhooks = await sweep.EnsureWebhooksAsync(repositories, token, ct);
            }
            else
            {
                state.Webhooks = new ForgeWebhooks(null, [], null, clock.GetUtcNow());
                if (!_webhookSkipSaid)
                    logger.LogInformation("forge: no webhooks registered: set Hive:PublicUrl (or Hive:Forge:WebhookUrl) to an address the forge reaches this hive at");
                _webhookSkipSaid = true;
            }
        }
        if (only is null)
        {
            state.SweepFinished(clock.GetUtcNow());
            if (token is not null && core.MetaRepo) pusher.Push();
        }
    }

    private async Task RevokeDepartedAsync(ForgeSweep sweep, ForgeAuth.Token core, HashSet<string> departed, CancellationToken ct)
    {
        var live = directory.List().Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var agent in departed.ToList())
        {
            try
            {
                // Back in the hive already: its new token, issued because its file went with it, revokes the old ones.
                if (!live.Contains(agent)) await sweep.RevokeAgentAsync(agent, core, ct);
                departed.Remove(agent);
            }
            catch (ForgeException e)
            {
                logger.LogWarning("forge: the tokens of {Agent}, which left the hive, are not revoked yet: {Failure}", agent, e.Message);
            }
        }
    }

    private Task RecordAsync(string agent, ForgeAccount account, CancellationToken ct) =>
        changes.RunAsync(scopes, (change, _) =>
        {
            if (state.SetAccount(agent, account)) change.Raise(new ForgeAccountChanged(agent, account));
            return Task.CompletedTask;
        }, ct);
}
