using Hive.Shared.Dashboard;

namespace Hive.Features.Governance;

/// <summary>A turn was granted.</summary>
public sealed record TurnGranted(GrantedTurn Turn) : IDashboardEvent
{
    public string EventType => "turn_granted";
    public object Payload => new { turn = Turn };
}

/// <summary>A granted turn ended: <c>recorded</c>, <c>disconnected</c>, <c>halted</c>, <c>paused</c>, <c>max_turn_minutes</c>.</summary>
public sealed record TurnEnded(long TurnId, string Agent, string Reason, double? CostUsd, long? Tokens) : IDashboardEvent
{
    public string EventType => "turn_ended";
    public object Payload => new { turn_id = TurnId, agent = Agent, reason = Reason, cost_usd = CostUsd, tokens = Tokens };
}

/// <summary>An agent asked for a turn and is held (raised once per reason while it waits).</summary>
public sealed record TurnHeld(string Agent, string Reason, DateTimeOffset? Until) : IDashboardEvent
{
    public string EventType => "turn_held";
    public object Payload => new { agent = Agent, reason = Reason, until = Until };
}

/// <summary>A scope passed the warning share of a cap (once per period).</summary>
public sealed record BudgetWarning(Reached Figures) : IDashboardEvent
{
    public string EventType => "budget_warning";
    public object Payload => BudgetPayload.Of(Figures);
}

/// <summary>A scope reached a cap (once per period): its next turns are held until the operator decides.</summary>
public sealed record BudgetExceeded(Reached Figures) : IDashboardEvent
{
    public string EventType => "budget_exceeded";
    public object Payload => BudgetPayload.Of(Figures);
}

/// <summary>A scope's caps were set (by the operator, or by an answer that raised one).</summary>
public sealed record BudgetChanged(string Scope, string By) : IDashboardEvent
{
    public string EventType => "budget_changed";
    public object Payload => new { scope = Scope, by = By };
}

/// <summary>A provider's quota circuit opened (<c>until</c> set) or closed (<c>until</c> null).</summary>
public sealed record QuotaCircuitChanged(string Provider, DateTimeOffset? Until, string Source) : IDashboardEvent
{
    public string EventType => "quota_circuit_changed";
    public object Payload => new { provider = Provider, until = Until, source = Source };
}

/// <summary>An agent's own <c>quota_hit</c> holds it (only it) until <c>until</c>; <c>until</c> null: that hold ran out.</summary>
public sealed record AgentQuotaHeld(string Agent, string Provider, DateTimeOffset? Until) : IDashboardEvent
{
    public string EventType => "agent_quota_held";
    public object Payload => new { agent = Agent, provider = Provider, until = Until };
}

public sealed record HiveHalted(string By, DateTimeOffset Since, string? Reason) : IDashboardEvent
{
    public string EventType => "hive_halted";
    public object Payload => new { by = By, since = Since, reason = Reason };
}

public sealed record HiveResumed(string By, DateTimeOffset At) : IDashboardEvent
{
    public string EventType => "hive_resumed";
    public object Payload => new { by = By, at = At };
}

public sealed record AgentPaused(string Agent, string By, DateTimeOffset Since) : IDashboardEvent
{
    public string EventType => "agent_paused";
    public object Payload => new { agent = Agent, by = By, since = Since };
}

public sealed record AgentResumed(string Agent, string By, DateTimeOffset At) : IDashboardEvent
{
    public string EventType => "agent_resumed";
    public object Payload => new { agent = Agent, by = By, at = At };
}

/// <summary>A granted turn on the wire.</summary>
public sealed record GrantedTurn(long TurnId, string Agent, string Provider, DateTimeOffset GrantedAt, bool OperatorWake, long WaitedMs);

internal static class BudgetPayload
{
    public static object Of(Reached r) => new { scope = r.Scope, metric = r.Metric, period = r.Period, spent = r.Spent, cap = r.Cap };
}

/// <summary>Governance asked the operator about a budget (question <paramref name="QuestionId"/>): what a push calls it.</summary>
public sealed record BudgetQuestionAsked(long QuestionId, string Scope) : MediatR.INotification;

/// <summary>A watchdog rule asked the operator (question <paramref name="QuestionId"/>) about <paramref name="Agent"/>.</summary>
public sealed record WatchdogQuestionAsked(long QuestionId, string Rule, string Agent) : MediatR.INotification;

/// <summary>An agent's restarts ran out: it is failed (whether or not the crash-loop question is asked).</summary>
public sealed record AgentWentFailed(string Agent, string How, DateTimeOffset At) : MediatR.INotification;
