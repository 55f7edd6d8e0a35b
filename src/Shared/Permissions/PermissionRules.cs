using System.Text.RegularExpressions;
using Hive.Contracts.Agents;

namespace Hive.Shared.Permissions;

/// <summary>
/// The rules of an agent's <c>permissions</c> (<see cref="AgentPermissions"/>): what a well-formed policy is, and which way
/// it answers one tool call. Deny rules are read first, then ask, then allow; what none matches is asked, as a person
/// would want of a tool that can run anything.
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

    /// <summary>One tool call as the agent describes it: every field is its claim.</summary>
    public sealed record Call(string? Kind, string? Tool, string? Command, IReadOnlyList<string> Paths, string Title);

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

    /// <summary>The way <paramref name="policy"/> answers <paramref name="call"/>, and the rule that said so (null: none did).</summary>
    public static (string Verdict, string? Rule) Decide(AgentPermissions? policy, Call call)
    {
        if (First(policy?.Deny, call) is { } deny) return (Verdicts.Deny, deny);
        if (First(policy?.Ask, call) is { } ask) return (Verdicts.Ask, ask);
        if (First(policy?.Allow, call) is { } allow) return (Verdicts.Allow, allow);
        return (Verdicts.Ask, null);
    }

    private static string? First(IReadOnlyList<string>? rules, Call call) => rules?.FirstOrDefault(rule => Matches(rule, call));

    private static bool Matches(string rule, Call call)
    {
        var (kind, pattern) = Split(rule);
        if (kind == "tool") return call.Tool is { } tool && Glob(pattern!, tool, paths: false);
        if (kind != "*" && kind != call.Kind) return false;
        if (pattern is null) return true;
        if (call.Kind == "execute") return Glob(pattern, call.Command ?? call.Title, paths: false);
        return call.Paths.Count > 0 ? call.Paths.All(p => Glob(pattern, Normal(p), paths: true)) : Glob(pattern, call.Title, paths: false);
    }

    /// <summary>An absolute path with its <c>..</c> and <c>.</c> taken out (lexically), so <c>/work/../etc</c> is not under <c>/work</c>.</summary>
    private static string Normal(string path) => path.StartsWith('/') && !path.Contains('\0') ? Path.GetFullPath(path) : path;

    private static (string Kind, string? Pattern) Split(string rule)
    {
        var colon = rule.IndexOf(':');
        return colon < 0 ? (rule.Trim(), null) : (rule[..colon].Trim(), rule[(colon + 1)..].Trim());
    }

    /// <summary>
    /// A glob as a regex, by hand: FileSystemGlobbing matches relative file paths only, and a command line is not one.
    /// Over paths <c>*</c> stays within a segment and <c>**</c> crosses them; elsewhere <c>*</c> is anything.
    /// </summary>
    private static bool Glob(string pattern, string text, bool paths)
    {
        var regex = new System.Text.StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*') { regex.Append(".*"); i++; }
            else if (c == '*') regex.Append(paths ? "[^/]*" : ".*");
            else if (c == '?') regex.Append(paths ? "[^/]" : ".");
            else regex.Append(Regex.Escape(c.ToString()));
        }
        regex.Append('$');
        return Regex.IsMatch(text, regex.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromMilliseconds(200));
    }
}
