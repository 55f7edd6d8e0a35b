using System.Collections.Concurrent;
using Hive.Shared.Changes;
using Hive.Shared.Gateway;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// Each agent's streak of failed model calls (connection failures, timeouts, 5xx: the provider could not be had), in
/// memory: its row shows it ("model calls failing: 6 in a row, connection refused to api.anthropic.com, since 10:42"), and
/// <see cref="ModelCallsFailing"/> is raised when a streak starts and when it ends. The watchdog reads it through
/// <see cref="IModelCallFailures"/>.
/// </summary>
internal sealed class CallFailures(StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock) : IModelCallFailures
{
    private readonly ConcurrentDictionary<string, FailingStreak> _streaks = new(StringComparer.Ordinal);

    public FailingStreak? Of(string agent) => _streaks.GetValueOrDefault(agent);

    public async Task FailedAsync(string agent, string provider, string error)
    {
        var now = clock.GetUtcNow();
        var streak = _streaks.AddOrUpdate(agent, _ => new FailingStreak(provider, 1, error, now, now), (_, s) => s with { Count = s.Count + 1, LastError = error, LastAt = now });
        if (streak.Count == 1) await RaiseAsync(new ModelCallsFailing(agent, provider, true, 1, error, now));
    }

    public async Task SucceededAsync(string agent, string provider)
    {
        if (_streaks.TryRemove(agent, out var ended))
            await RaiseAsync(new ModelCallsFailing(agent, provider, false, ended.Count, ended.LastError, ended.Since));
    }

    private Task RaiseAsync(ModelCallsFailing notification) =>
        changes.RunAsync(scopes, (change, _) =>
        {
            change.Raise(notification);
            return Task.CompletedTask;
        }, CancellationToken.None);
}

/// <summary>An agent's model calls started failing in a row (<see cref="Failing"/>), or stopped (the streak's count and first error).</summary>
public sealed record ModelCallsFailing(string Agent, string Provider, bool Failing, int Count, string Error, DateTimeOffset Since) : INotification;
