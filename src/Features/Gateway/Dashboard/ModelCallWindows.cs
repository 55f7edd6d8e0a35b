using Hive.Contracts.Gateway;
using Hive.Features.Gateway.Calls;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Gateway.Dashboard;

/// <summary>
/// How <c>model_call</c> is summarised, so that 50 busy agents do not flood the stream: every call that ends (complete,
/// failed, refused, interrupted: <see cref="ModelCallEnded"/>, after its commit) goes into its agent's open window; the
/// window is opened by the first call that ends while the agent has none. Every <see cref="CallInterval"/> (2 s) one tick
/// closes all open windows at once and publishes one <c>model_call</c> per agent whose window holds a call: its counts
/// (calls; failed; refused; tokens, the four kinds added; cost, the calls with a price added) and its last call (id, turn,
/// provider, model, state, status), with the window's first and last end times. So an agent gets at most one event per
/// tick whatever its rate, an idle agent none, and no call is lost: a call that ends while a tick closes the windows is
/// in the next one, and the host's stop publishes what is still open (the tail is never dropped). The counts of an
/// agent's events add up to its calls. The same tick publishes <c>provider_limits</c> for a provider whose view changed
/// (<see cref="ProviderWatch"/>), at most once per <see cref="ProviderInterval"/> per provider.
/// </summary>
internal sealed class ModelCallWindows(TimeProvider clock)
{
    public static readonly TimeSpan CallInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan ProviderInterval = TimeSpan.FromSeconds(5);

    private sealed class Window(DateTimeOffset from)
    {
        public DateTimeOffset From { get; } = from;
        public DateTimeOffset To;
        public int Calls, Failed, Refused;
        public long Tokens;
        public double CostUsd;
        public LastModelCall Last = null!;
    }

    private readonly Lock _lock = new();
    private Dictionary<string, Window> _open = new(StringComparer.Ordinal);

    public void Add(ModelCallEnded call)
    {
        var now = clock.GetUtcNow();
        lock (_lock)
        {
            if (!_open.TryGetValue(call.Agent, out var window)) _open[call.Agent] = window = new Window(now);
            window.To = now;
            window.Calls++;
            if (call.State is "failed" or "interrupted") window.Failed++;
            if (call.State == "refused") window.Refused++;
            window.Tokens += call.InputTokens + call.OutputTokens + call.CacheReadTokens + call.CacheWriteTokens;
            window.CostUsd += call.CostUsd ?? 0;
            window.Last = new LastModelCall(call.Id, call.TurnId, call.Provider, call.Model, call.State, call.Status);
        }
    }

    /// <summary>Closes every open window: one summary per agent that had a call in it.</summary>
    public IReadOnlyList<ModelCallsSummarised> Close(Func<string, FailingStreakView?> failingOf)
    {
        Dictionary<string, Window> closed;
        lock (_lock)
        {
            if (_open.Count == 0) return [];
            closed = _open;
            _open = new(StringComparer.Ordinal);
        }
        return closed.OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => new ModelCallsSummarised(w.Key, w.Value.From, w.Value.To, w.Value.Calls, w.Value.Failed, w.Value.Refused,
                w.Value.Tokens, w.Value.CostUsd, w.Value.Last, failingOf(w.Key)))
            .ToList();
    }

    /// <summary>Each ended call into its agent's window (published by <see cref="GatewayDashboardLoop"/>).</summary>
    internal sealed class Collect(ModelCallWindows windows) : INotificationHandler<ModelCallEnded>
    {
        public Task Handle(ModelCallEnded notification, CancellationToken cancellationToken)
        {
            windows.Add(notification);
            return Task.CompletedTask;
        }
    }
}

/// <summary>
/// Which provider views were last published and when: a provider's view (in flight, waiting, the limits it last named)
/// is published when it differs from the last one sent and that one is at least <see cref="ModelCallWindows.ProviderInterval"/>
/// old; a change inside the interval waits for it (the latest view then goes, so the last change is never lost).
/// </summary>
internal sealed class ProviderWatch(GatewayProviders providers, ProviderLimits limits, Served.ServedProviders served, TimeProvider clock)
{
    private readonly Dictionary<string, (ProviderView View, DateTimeOffset At)> _sent = new(StringComparer.Ordinal);

    public IReadOnlyList<ProviderView> Views() => providers.All.Select(ViewOf).ToList();

    public ProviderView ViewOf(Provider p) => new(p.Name, p.Protocol, p.Upstream.Authority, Math.Max(0, p.InFlight), p.MaxInFlight, Math.Max(0, p.Waiting),
        limits.Of(p.Name) is { } l ? new ProviderLimitsView(l.RequestsRemaining, l.TokensRemaining, l.RequestsReset, l.TokensReset, l.SeenAt) : null,
        served.ViewOf(p.Name));

    /// <summary>The views to publish now (called by one loop only).</summary>
    public IReadOnlyList<ProviderLimitsChanged> Due()
    {
        var now = clock.GetUtcNow();
        var due = new List<ProviderLimitsChanged>();
        foreach (var provider in providers.All)
        {
            var view = ViewOf(provider);
            if (_sent.TryGetValue(provider.Name, out var sent))
            {
                if (Same(sent.View, view) || now - sent.At < ModelCallWindows.ProviderInterval) continue;
            }
            else if (view.InFlight == 0 && view.Waiting == 0 && view.Limits is null && view.Served is null)
            {
                continue; // the snapshot already shows an idle provider that named no limits
            }
            _sent[provider.Name] = (view, now);
            due.Add(new ProviderLimitsChanged(view));
        }
        return due;
    }

    /// <summary>When the provider's own word is the same (its <c>seen_at</c> alone moving is not a change).</summary>
    private static bool Same(ProviderView a, ProviderView b) =>
        a.InFlight == b.InFlight && a.Waiting == b.Waiting && a.Served?.Since == b.Served?.Since && a.Served?.Pid == b.Served?.Pid
        && (a.Limits is null ? b.Limits is null : b.Limits is not null && a.Limits with { SeenAt = default } == b.Limits with { SeenAt = default });
}

/// <summary>
/// The tick of <see cref="ModelCallWindows"/>: every <see cref="ModelCallWindows.CallInterval"/>, the closed windows and the
/// due provider views, raised in one change of their own (published in order, through the snapshot's gate); once more at stop.
/// </summary>
internal sealed class GatewayDashboardLoop(
    ModelCallWindows windows, ProviderWatch watch, CallFailures failures, StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock,
    ILogger<GatewayDashboardLoop> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ModelCallWindows.CallInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await PublishAsync();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await PublishAsync(); // the tail: the windows still open
    }

    private async Task PublishAsync()
    {
        try
        {
            var events = new List<INotification>();
            events.AddRange(windows.Close(agent => failures.Of(agent) is { } s ? new FailingStreakView(s.Count, s.Provider, s.LastError, s.Since) : null));
            events.AddRange(watch.Due());
            if (events.Count == 0) return;
            await changes.RunAsync(scopes, (change, _) =>
            {
                foreach (var e in events) change.Raise(e);
                return Task.CompletedTask;
            }, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogError(e, "gateway: could not publish the model calls' summaries");
        }
    }
}

/// <summary>A streak's start and end as the dashboard's <c>model_calls_failing</c> (published right after the change that raised it).</summary>
internal sealed class RelayCallsFailing(IMediator publisher) : INotificationHandler<ModelCallsFailing>
{
    public Task Handle(ModelCallsFailing n, CancellationToken cancellationToken) =>
        publisher.Publish(new ModelCallsFailingChanged(n.Agent, n.Provider, n.Failing, n.Count, n.Error, n.Since), cancellationToken);
}
