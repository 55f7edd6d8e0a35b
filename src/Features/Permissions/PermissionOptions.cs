using Hive.Contracts.Permissions;
using Hive.Features.Containers;
using Hive.Shared.Permissions;

namespace Hive.Features.Permissions;

/// <summary>
/// The agent's options (ACP's allow_once, allow_always, reject_once, reject_always) read one way everywhere: which one a
/// decision answers with, what a question shows as buttons, and which decision a button (or a typed answer) means.
/// </summary>
internal static class PermissionOptions
{
    public const int MaxNameLength = 200;

    public static bool Allows(string? kind) => kind is "allow_once" or "allow_always";

    /// <summary>The option a decision is answered with (once over always: the next call asks again); null when the agent offered none of that kind.</summary>
    public static string? For(IReadOnlyList<PermissionOption> options, string verdict)
    {
        var wanted = verdict == PermissionRules.Verdicts.Allow ? new[] { "allow_once", "allow_always" } : ["reject_once", "reject_always"];
        return wanted.Select(w => options.FirstOrDefault(o => o.Kind == w)).FirstOrDefault(o => o is not null)?.Id;
    }

    /// <summary>What the question's buttons say, one per option: its name, made distinct and short enough to be an option of a question.</summary>
    public static IReadOnlyList<string> Buttons(IReadOnlyList<PermissionOption> options)
    {
        var buttons = new List<string>();
        foreach (var option in options)
        {
            var name = string.IsNullOrWhiteSpace(option.Name) ? option.Kind ?? option.Id! : option.Name.Trim();
            if (name.Length > MaxNameLength - 12) name = name[..(MaxNameLength - 12)];
            buttons.Add(buttons.Contains(name, StringComparer.OrdinalIgnoreCase) ? $"{name} ({buttons.Count + 1})" : name);
        }
        return buttons;
    }

    /// <summary>
    /// The decision an answer means: a button's option (its kind says which way), or a typed <c>allow</c>/<c>yes</c>;
    /// anything else refuses. The option answered with is the button's, else the decision's own.
    /// </summary>
    public static (string Verdict, string? OptionId) Chosen(IReadOnlyList<PermissionOption> options, string answer)
    {
        var buttons = Buttons(options);
        var index = buttons.ToList().FindIndex(b => string.Equals(b, answer.Trim(), StringComparison.OrdinalIgnoreCase));
        if (index >= 0)
        {
            var verdict = Allows(options[index].Kind) ? PermissionRules.Verdicts.Allow : PermissionRules.Verdicts.Deny;
            return (verdict, verdict == PermissionRules.Verdicts.Allow || options[index].Kind is "reject_once" or "reject_always"
                ? options[index].Id : For(options, verdict));
        }
        var typed = answer.Trim().ToLowerInvariant() is "allow" or "yes" ? PermissionRules.Verdicts.Allow : PermissionRules.Verdicts.Deny;
        return (typed, For(options, typed));
    }
}
