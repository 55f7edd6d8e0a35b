using System.Text.RegularExpressions;
using Hive.Contracts.Agents;
using Hive.Shared.Permissions;

namespace Hive.Features.Permissions;

/// <summary>
/// Which way an agent's policy answers one tool call: deny rules are read first, then ask, then allow; what none matches
/// is asked, as a person would want of a tool that can run anything.
/// </summary>
internal static class PolicyMatch
{
    /// <summary>One tool call as the agent describes it: every field is its claim.</summary>
    public sealed record Call(string? Kind, string? Tool, string? Command, IReadOnlyList<string> Paths, string Title);

    /// <summary>The way <paramref name="policy"/> answers <paramref name="call"/>, and the rule that said so (null: none did).</summary>
    public static (string Verdict, string? Rule) Decide(AgentPermissions? policy, Call call)
    {
        if (First(policy?.Deny, call) is { } deny) return (PermissionRules.Verdicts.Deny, deny);
        if (First(policy?.Ask, call) is { } ask) return (PermissionRules.Verdicts.Ask, ask);
        if (First(policy?.Allow, call) is { } allow) return (PermissionRules.Verdicts.Allow, allow);
        return (PermissionRules.Verdicts.Ask, null);
    }

    private static string? First(IReadOnlyList<string>? rules, Call call) => rules?.FirstOrDefault(rule => Matches(rule, call));

    private static bool Matches(string rule, Call call)
    {
        var (kind, pattern) = PermissionRules.Split(rule);
        if (kind == "tool") return call.Tool is { } tool && Glob(pattern!, tool, paths: false);
        if (kind != "*" && kind != call.Kind) return false;
        if (pattern is null) return true;
        if (call.Kind == "execute") return Glob(pattern, call.Command ?? call.Title, paths: false);
        return call.Paths.Count > 0 ? call.Paths.All(p => Glob(pattern, Normal(p), paths: true)) : Glob(pattern, call.Title, paths: false);
    }

    /// <summary>An absolute path with its <c>..</c> and <c>.</c> taken out (lexically), so <c>/work/../etc</c> is not under <c>/work</c>.</summary>
    private static string Normal(string path) => path.StartsWith('/') && !path.Contains('\0') ? Path.GetFullPath(path) : path;

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
