using Hive.Contracts.Agents;

namespace Hive.Shared.Permissions;

/// <summary>
/// The rules of an agent's <c>permissions</c> (<see cref="AgentPermissions"/>): what a well-formed policy is, checked
/// wherever a configuration is (Containers). How a policy answers a call is the Permissions slice's (<c>PolicyMatch</c>).
/// </summary>
public static class PermissionRules
{
    public const int MaxRules = 64;
    public const int MaxRuleLength = 512;
    public const long DefaultTtlSeconds = 600;
    public const long MaxTtlSeconds = 6 * 60 * 60;

    /// <summary>The kinds of tool call ACP names, <c>tool</c> (its pattern matches the tool's name) and <c>*</c> (any).</summary>
    public static readonly IReadOnlyList<string> Kinds =
        ["read", "edit", "delete", "move", "search", "execute", "think", "fetch", "switch_mode", "other", "tool", "*"];

    public static readonly IReadOnlyList<string> Defaults = [Verdicts.Allow, Verdicts.Deny];
    public static readonly IReadOnlyList<string> AskTargets = ["operator", "manager"];

    public static class Verdicts
    {
        public const string Allow = "allow";
        public const string Deny = "deny";
        public const string Ask = "ask";
    }

    /// <summary>Why <paramref name="policy"/> cannot be used, or null.</summary>
    public static string? ProblemWith(AgentPermissions? policy)
    {
        if (policy is null) return null;
        foreach (var (name, rules) in new[] { ("allow", policy.Allow), ("ask", policy.Ask), ("deny", policy.Deny) })
        {
            if (rules is null) continue;
            if (rules.Count > MaxRules) return $"permissions.{name} has at most {MaxRules} rules";
            foreach (var rule in rules)
                if (RuleProblem(rule) is { } problem) return $"permissions.{name}: {problem}";
        }
        if (policy.Default is { } fallback && !Defaults.Contains(fallback))
            return $"permissions.default is {Verdicts.Allow} or {Verdicts.Deny} (what an unanswered question resolves to)";
        if (policy.TtlSeconds is { } ttl && ttl is < 1 or > MaxTtlSeconds)
            return $"permissions.ttl_seconds must be 1 to {MaxTtlSeconds} (6 hours)";
        if (policy.AskTo is { } to && !AskTargets.Contains(to)) return "permissions.ask_to is operator or manager";
        return null;
    }

    private static string? RuleProblem(string? rule)
    {
        if (string.IsNullOrWhiteSpace(rule) || rule.Length > MaxRuleLength || rule.Any(char.IsControl))
            return $"each rule is 1 to {MaxRuleLength} characters, no control characters";
        var (kind, pattern) = Split(rule);
        if (!Kinds.Contains(kind)) return $"'{rule}': the kind is one of {string.Join(", ", Kinds)} (then :PATTERN if wanted)";
        if (pattern is { Length: 0 }) return $"'{rule}': a pattern after ':' must not be empty";
        if (kind == "tool" && pattern is null) return $"'{rule}': tool needs a pattern, the tool's name (tool:mcp__hive__*)";
        return null;
    }

    /// <summary>A rule's kind and its pattern (null when it has none).</summary>
    public static (string Kind, string? Pattern) Split(string rule)
    {
        var colon = rule.IndexOf(':');
        return colon < 0 ? (rule.Trim(), null) : (rule[..colon].Trim(), rule[(colon + 1)..].Trim());
    }
}
