namespace Hive.Contracts.Gateway;

/// <summary>
/// <c>model_call</c>: one agent's model calls that ended in one summary window: how many, how many failed and were
/// refused, their tokens and cost, and the last of them; <c>failing</c> is the agent's failing streak as the window
/// closed (null: none).
/// </summary>
public sealed record ModelCallsSummarisedPayload(
    string Agent, DateTimeOffset From, DateTimeOffset To, int Calls, int Failed, int Refused, long Tokens, double CostUsd,
    LastModelCall Last, FailingStreakView? Failing);

/// <summary><c>call_recording_changed</c>: the recording of an agent's call bodies was turned off or on.</summary>
public sealed record CallRecordingChangedPayload(string Agent, bool Recording);

/// <summary>
/// <c>model_calls_failing</c>: an agent's model calls started failing in a row (<c>failing</c> true, <c>streak</c> its
/// row's new <c>model_calls_failing</c>) or stopped (false, <c>streak</c> null; <c>count</c> says how long it was).
/// </summary>
public sealed record ModelCallsFailingPayload(
    string Agent, string Provider, bool Failing, int Count, string Error, DateTimeOffset Since, FailingStreakView? Streak);

/// <summary><c>provider_limits</c>: one provider as the snapshot's <c>gateway.providers[]</c> shows it.</summary>
public sealed record ProviderLimitsChangedPayload(ProviderView Provider);
