using FluentValidation;
using Hive.Shared.Agents;
using Hive.Shared.Errors;

namespace Hive.Shared.Validation;

/// <summary>The one rule for who a message or question may go to.</summary>
public static class RecipientRules
{
    /// <summary>The operator or a live agent; anything else is <c>not_found</c> (named, shortened, in the error).</summary>
    public static IRuleBuilderOptions<T, string?> KnownRecipient<T>(this IRuleBuilder<T, string?> rule, IAgentDirectory agents) =>
        rule.Must(to => to == AgentNames.Operator || (to is not null && agents.IsAgent(to)))
            .WithMessage((_, to) => $"no agent named {Shorten(to ?? "")}").WithErrorCode(ErrorCodes.NotFound);

    /// <summary>The hive's policy lets the sender reach this one (its subtree when it has a parent, its allowed_recipients): else forbidden, saying why.</summary>
    public static IRuleBuilderOptions<T, string?> AllowedFor<T>(this IRuleBuilder<T, string?> rule, IRecipientPolicy policy, Func<T, string> sender) =>
        rule.Must((c, to) => to is null || policy.MayReach(sender(c), to))
            .WithMessage((c, to) => policy.WhyNot(sender(c), to ?? "") ?? $"{sender(c)} may not reach {Shorten(to ?? "")}")
            .WithErrorCode(ErrorCodes.Forbidden);

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
