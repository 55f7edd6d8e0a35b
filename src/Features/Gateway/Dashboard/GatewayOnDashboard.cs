using Hive.Contracts.Gateway;
using Hive.Features.Gateway.Calls;
using Hive.Features.Gateway.Recordings;
using Hive.Features.Gateway.Replays;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;

namespace Hive.Features.Gateway.Dashboard;

/// <summary>
/// Each agent row's <c>model_calls_failing</c>: its streak of failed model calls (<c>{count, provider, last_error, since}</c>),
/// or null. Kept live by <c>model_calls_failing</c> (a streak's start and end) and by <c>model_call</c>'s <c>failing</c> (its count).
/// And <c>calls_recorded</c>: whether its calls' bodies are recorded (<c>call_recording_changed</c>); <c>replay_of</c>: the turn a
/// replay's agent replays, <c>fork_of</c>: the original's turn a fork continues from (each null for any other agent; an agent is
/// one from its creation).
/// </summary>
internal sealed class GatewayOnAgentRows(CallFailures failures, CallRecording recording, ActiveReplays replays, ForkedAgents forks) : AgentRowContributor<GatewayFacts>
{
    protected override Task<IReadOnlyDictionary<string, GatewayFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        var facts = new Dictionary<string, GatewayFacts>(StringComparer.Ordinal);
        foreach (var agent in agents)
            facts[agent.Name] = new GatewayFacts(failures.Of(agent.Name) is { } s ? new FailingStreakView(s.Count, s.Provider, s.LastError, s.Since) : null,
                recording.IsOn(agent.Name), replays.ReplayOf(agent.Name), forks.ForkOf(agent.Name));
        return Task.FromResult<IReadOnlyDictionary<string, GatewayFacts>>(facts);
    }
}

internal sealed record GatewayFacts(FailingStreakView? ModelCallsFailing, bool CallsRecorded, ReplayOf? ReplayOf, ForkOf? ForkOf);

/// <summary>The snapshot's <c>gateway</c>: <c>{providers: [{name, protocol, upstream_host, in_flight, slots, waiting, limits}]}</c>, from memory.</summary>
internal sealed class GatewayStateContributor(ProviderWatch watch) : IDashboardStateContributor
{
    private IReadOnlyList<ProviderView>? _captured;

    public void Capture() => _captured = watch.Views();

    public Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        state.Set("gateway", new { providers = _captured ?? [] });
        return Task.CompletedTask;
    }
}
