using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Errors;

namespace Hive.Features.Reminders;

/// <summary>The rules a one-off and a recurring reminder share: whom it is for, and the state file it may carry.</summary>
internal static class ReminderRules
{
    /// <summary>An agent's own verb always names a live agent (itself); the operator names one, as <c>to</c>.</summary>
    public static void ForLiveAgent<T>(this IRuleBuilderInitial<T, string> rule, IAgentDirectory agents) =>
        rule.Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("to is required: the agent the reminder is for")
            .Must(agents.IsAgent).WithMessage((_, agent) => $"no agent named {(agent.Length <= 40 ? agent : agent[..40] + "…")}")
            .WithErrorCode(ErrorCodes.NotFound)
            .OverridePropertyName("to");

    /// <summary>
    /// An agent may name its own state files and shared ones; one answer for "missing" and "not yours", so a reminder
    /// cannot be used to probe another agent's state dir.
    /// </summary>
    public static void OwnOrSharedStateFile<T>(this IRuleBuilderInitial<T, string?> rule, IStateFileAllowList allowList, Func<T, string> agent) =>
        rule.Must((c, path) => path is null || allowList.Accepts(path, agent(c)))
            .WithMessage("payload_path must name an existing state file of your own or in /shared").WithErrorCode(ErrorCodes.Forbidden);
}
