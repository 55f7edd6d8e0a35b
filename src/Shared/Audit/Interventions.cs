using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Shared.Audit;

/// <summary>OmoiOS's authority ladder: who may undo whose intervention (a lower level never undoes a higher one's).</summary>
public static class Authority
{
    public const int Worker = 1;
    public const int Watchdog = 2;
    public const int Monitor = 3;
    public const int Guardian = 4;
    public const int System = 5;

    public static string Name(int level) => level switch
    {
        Worker => "worker",
        Watchdog => "watchdog",
        Monitor => "monitor",
        Guardian => "guardian",
        System => "system",
        _ => "unknown",
    };
}

/// <summary>Who acts: the operator (guardian), the manager (monitor), a rule (watchdog), the host itself (system), an agent (worker).</summary>
public sealed record Actor(string Name, int Authority)
{
    public static readonly Actor Operator = new(AgentNames.Operator, Audit.Authority.Guardian);
    public static readonly Actor Manager = new(AgentNames.Manager, Audit.Authority.Monitor);
    public static readonly Actor Hive = new(AgentNames.Hive, Audit.Authority.System);

    public static Actor Agent(string name) => new(name, Audit.Authority.Worker);

    /// <summary>A watchdog rule (<c>stall</c>, <c>loop</c>, <c>crash_loop</c>) acting on its own.</summary>
    public static Actor Rule(string rule) => new(rule, Audit.Authority.Watchdog);

    /// <summary>The operator, or the manager at its own level, or an agent: by the name a request came with.</summary>
    public static Actor Named(string name) => name switch
    {
        AgentNames.Operator => Operator,
        AgentNames.Manager => Manager,
        AgentNames.Hive => Hive,
        _ => Agent(name),
    };
}

/// <summary>The actions an intervention records.</summary>
public static class InterventionActions
{
    public const string Halt = "halt";
    public const string ResumeHive = "resume_hive";
    public const string Pause = "pause";
    public const string Resume = "resume";
    public const string BudgetSet = "budget_set";
    public const string BudgetAnswer = "budget_answer";
    public const string QuotaCircuitOpened = "quota_circuit_opened";
    public const string QuotaCircuitCleared = "quota_circuit_cleared";
    public const string Revert = "revert";
    public const string Nudge = "nudge";
    public const string EndTurn = "end_turn";
    public const string ExtendTurn = "extend_turn";
    public const string Restart = "restart";
    public const string Stop = "stop";
    public const string Destroy = "destroy";
    public const string LimitChange = "limit_change";
    public const string Spawn = "spawn";
    public const string AnswerForAgent = "answer_for_agent";
    public const string ProviderSwitch = "provider_switch";

    /// <summary>A slash command for an agent's next turn: <c>slash_compact</c>, <c>slash_clear</c>, <c>slash_model</c>.</summary>
    public static string Slash(string verb) => "slash_" + verb;
}

/// <summary>
/// An action a slice below Governance took that overrides an agent's course (a limit change, an agent stopped, a question
/// answered on an agent's behalf): one interventions row, written in the caller's running change (so it rolls back with
/// the action). Sent from inside that change; Governance handles it. Returns the row's id.
/// </summary>
public sealed record RecordIntervention(Actor By, string Action, string? Target, string? Reason, object? Before, object? After)
    : IRequest<long>, IChangesState;
