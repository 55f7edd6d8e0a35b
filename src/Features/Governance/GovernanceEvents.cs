using Hive.Contracts.Governance;
using Hive.Shared.Dashboard;

namespace Hive.Features.Governance;

/// <summary>A turn was granted.</summary>
public sealed record TurnGranted(GrantedTurn Turn) : IDashboardEvent<TurnGrantedPayload>
{
    public string EventType => "turn_granted";
    public TurnGrantedPayload Payload => new(Turn);
}

/// <summary>A granted turn ended: <c>recorded</c>, <c>disconnected</c>, <c>halted</c>, <c>paused</c>, <c>max_turn_minutes</c>.</summary>
public sealed record TurnEnded(long TurnId, string Agent, string Reason, double? CostUsd, long? Tokens) : IDashboardEvent<TurnEndedPayload>
{
    public string EventType => "turn_ended";
    public TurnEndedPayload Payload => new(TurnId, Agent, Reason, CostUsd, Tokens);
}

/// <summary>An agent's turns moved to another provider of its chain.</summary>
public sealed record ProviderSwitched(ProviderSwitchedPayload Switch) : IDashboardEvent<ProviderSwitchedPayload>
{
    public string EventType => "provider_switched";
    public ProviderSwitchedPayload Payload => Switch;
}

/// <summary>An agent asked for a turn and is held (raised once per reason while it waits).</summary>
public sealed record TurnHeld(string Agent, string Reason, DateTimeOffset? Until) : IDashboardEvent<TurnHeldPayload>
{
    public string EventType => "turn_held";
    public TurnHeldPayload Payload => new(Agent, Reason, Until);
}

/// <summary>A scope passed the warning share of a cap (once per period).</summary>
public sealed record BudgetWarning(Reached Figures) : IDashboardEvent<BudgetReachedPayload>
{
    public string EventType => "budget_warning";
    public BudgetReachedPayload Payload => new(Figures.Scope, Figures.Metric, Figures.Period, Figures.Spent, Figures.Cap);
}

/// <summary>A scope reached a cap (once per period): its next turns are held until the operator decides.</summary>
public sealed record BudgetExceeded(Reached Figures) : IDashboardEvent<BudgetReachedPayload>
{
    public string EventType => "budget_exceeded";
    public BudgetReachedPayload Payload => new(Figures.Scope, Figures.Metric, Figures.Period, Figures.Spent, Figures.Cap);
}

/// <summary>A scope's caps were set (by the operator, or by an answer that raised one).</summary>
public sealed record BudgetChanged(string Scope, string By) : IDashboardEvent<BudgetChangedPayload>
{
    public string EventType => "budget_changed";
    public BudgetChangedPayload Payload => new(Scope, By);
}

/// <summary>A provider's quota circuit opened (<c>until</c> set) or closed (<c>until</c> null).</summary>
public sealed record QuotaCircuitChanged(string Provider, DateTimeOffset? Until, string Source) : IDashboardEvent<QuotaCircuitChangedPayload>
{
    public string EventType => "quota_circuit_changed";
    public QuotaCircuitChangedPayload Payload => new(Provider, Until, Source);
}

/// <summary>An agent's own <c>quota_hit</c> holds it (only it) until <c>until</c>; <c>until</c> null: that hold ran out.</summary>
public sealed record AgentQuotaHeld(string Agent, string Provider, DateTimeOffset? Until) : IDashboardEvent<AgentQuotaHeldPayload>
{
    public string EventType => "agent_quota_held";
    public AgentQuotaHeldPayload Payload => new(Agent, Provider, Until);
}

public sealed record HiveHalted(string By, DateTimeOffset Since, string? Reason) : IDashboardEvent<HiveHaltedPayload>
{
    public string EventType => "hive_halted";
    public HiveHaltedPayload Payload => new(By, Since, Reason);
}

public sealed record HiveResumed(string By, DateTimeOffset At) : IDashboardEvent<HiveResumedPayload>
{
    public string EventType => "hive_resumed";
    public HiveResumedPayload Payload => new(By, At);
}

public sealed record AgentPaused(string Agent, string By, DateTimeOffset Since) : IDashboardEvent<AgentPausedPayload>
{
    public string EventType => "agent_paused";
    public AgentPausedPayload Payload => new(Agent, By, Since);
}

public sealed record AgentResumed(string Agent, string By, DateTimeOffset At) : IDashboardEvent<AgentResumedPayload>
{
    public string EventType => "agent_resumed";
    public AgentResumedPayload Payload => new(Agent, By, At);
}

/// <summary>Governance asked the operator about a budget (question <paramref name="QuestionId"/>): what a push calls it.</summary>
public sealed record BudgetQuestionAsked(long QuestionId, string Scope) : MediatR.INotification;

/// <summary>A watchdog rule asked the operator (question <paramref name="QuestionId"/>) about <paramref name="Agent"/>.</summary>
public sealed record WatchdogQuestionAsked(long QuestionId, string Rule, string Agent) : MediatR.INotification;

/// <summary>An agent's restarts ran out: it is failed (whether or not the crash-loop question is asked).</summary>
public sealed record AgentWentFailed(string Agent, string How, DateTimeOffset At) : MediatR.INotification;
