using Hive.Contracts.Gateway;
using Hive.Shared.Dashboard;

namespace Hive.Features.Gateway.Dashboard;

/// <summary>
/// <c>model_call</c>: one agent's model calls that ended in one summary window (<see cref="ModelCallWindows"/> says how
/// they are summarised): how many, how many failed and were refused, their tokens and cost, and the last of them.
/// <c>failing</c> is the agent's failing streak as the window closed (null: none), so a row's count follows without a refetch.
/// </summary>
public sealed record ModelCallsSummarised(
    string Agent, DateTimeOffset From, DateTimeOffset To, int Calls, int Failed, int Refused, long Tokens, double CostUsd,
    LastModelCall Last, FailingStreakView? Failing) : IDashboardEvent<ModelCallsSummarisedPayload>
{
    public string EventType => "model_call";
    public ModelCallsSummarisedPayload Payload => new(Agent, From, To, Calls, Failed, Refused, Tokens, CostUsd, Last, Failing);
}

/// <summary><c>call_recording_changed</c>: the operator turned the recording of an agent's call bodies off or on (its row's <c>calls_recorded</c>).</summary>
public sealed record CallRecordingChanged(string Agent, bool Recording) : IDashboardEvent<CallRecordingChangedPayload>
{
    public string EventType => "call_recording_changed";
    public CallRecordingChangedPayload Payload => new(Agent, Recording);
}

/// <summary>
/// <c>model_calls_failing</c>: an agent's model calls started failing in a row (<c>failing</c> true, and its row's
/// <c>model_calls_failing</c> becomes <c>streak</c>) or stopped (false; the row's becomes null, and <c>count</c> says how long it was).
/// </summary>
public sealed record ModelCallsFailingChanged(string Agent, string Provider, bool Failing, int Count, string Error, DateTimeOffset Since)
    : IDashboardEvent<ModelCallsFailingPayload>
{
    public string EventType => "model_calls_failing";

    public ModelCallsFailingPayload Payload =>
        new(Agent, Provider, Failing, Count, Error, Since, Failing ? new FailingStreakView(Count, Provider, Error, Since) : null);
}

/// <summary>
/// <c>provider_limits</c>: one provider as the snapshot's <c>gateway.providers[]</c> shows it (in flight, slots, waiting,
/// the last limits it named), sent when it changed, at most once per <see cref="ModelCallWindows.ProviderInterval"/> per provider.
/// </summary>
public sealed record ProviderLimitsChanged(ProviderView Provider) : IDashboardEvent<ProviderLimitsChangedPayload>
{
    public string EventType => "provider_limits";
    public ProviderLimitsChangedPayload Payload => new(Provider);
}
