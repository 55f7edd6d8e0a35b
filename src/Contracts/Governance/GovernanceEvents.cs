namespace Hive.Contracts.Governance;

// The payloads of the Governance slice's dashboard events.

/// <summary>A granted turn on the wire.</summary>
public sealed record GrantedTurn(long TurnId, string Agent, string Provider, DateTimeOffset GrantedAt, bool OperatorWake, long WaitedMs);

/// <summary><c>turn_granted</c>.</summary>
public sealed record TurnGrantedPayload(GrantedTurn Turn);

/// <summary><c>turn_ended</c>: <c>reason</c> is <c>recorded</c>, <c>disconnected</c>, <c>halted</c>, <c>paused</c> or <c>max_turn_minutes</c>.</summary>
public sealed record TurnEndedPayload(long TurnId, string Agent, string Reason, double? CostUsd, long? Tokens);

/// <summary><c>turn_held</c>: an agent asked for a turn and is held.</summary>
public sealed record TurnHeldPayload(string Agent, string Reason, DateTimeOffset? Until);

/// <summary><c>budget_warning</c> and <c>budget_exceeded</c>: a scope's figures as it passed the warning share, or reached a cap.</summary>
public sealed record BudgetReachedPayload(string Scope, string Metric, string Period, double Spent, double Cap);

/// <summary><c>budget_changed</c>: a scope's caps were set.</summary>
public sealed record BudgetChangedPayload(string Scope, string By);

/// <summary><c>quota_circuit_changed</c>: a provider's quota circuit opened (<c>until</c> set) or closed (null).</summary>
public sealed record QuotaCircuitChangedPayload(string Provider, DateTimeOffset? Until, string Source);

/// <summary><c>agent_quota_held</c>: an agent's own quota hit holds it until <c>until</c> (null: that hold ran out).</summary>
public sealed record AgentQuotaHeldPayload(string Agent, string Provider, DateTimeOffset? Until);

/// <summary>
/// <c>provider_switched</c>: an agent's turns moved from one provider of its chain to another (<c>turn_id</c>: the turn that
/// starts on it, or that moved before anything happened in it), and why.
/// </summary>
public sealed record ProviderSwitchedPayload(string Agent, string From, string To, string Reason, long? TurnId, DateTimeOffset At);

/// <summary>An agent row's <c>provider_now</c>: the provider of its chain its turns run on, why, and since when (null: never moved).</summary>
public sealed record ProviderNow(string Provider, string? Reason, DateTimeOffset? Since);

/// <summary><c>hive_halted</c>.</summary>
public sealed record HiveHaltedPayload(string By, DateTimeOffset Since, string? Reason);

/// <summary><c>hive_resumed</c>.</summary>
public sealed record HiveResumedPayload(string By, DateTimeOffset At);

/// <summary><c>agent_paused</c>.</summary>
public sealed record AgentPausedPayload(string Agent, string By, DateTimeOffset Since);

/// <summary><c>agent_resumed</c>.</summary>
public sealed record AgentResumedPayload(string Agent, string By, DateTimeOffset At);

/// <summary><c>intervention_recorded</c>: an intervention was recorded (or, with <c>reverted_by</c> set, reverted).</summary>
public sealed record InterventionRecordedPayload(InterventionView Intervention);
