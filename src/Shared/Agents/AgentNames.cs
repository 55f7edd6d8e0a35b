using System.Text.RegularExpressions;

namespace Hive.Shared.Agents;

/// <summary>The rules for names on the wire (DESIGN.md, "Wire conventions").</summary>
public static partial class AgentNames
{
    public const string Operator = "operator";
    public const string Manager = "manager";
    public const string Reminder = "reminder";
    public const string Hive = "hive";

    /// <summary>The sender of what the forge's webhooks tell an agent (a push, a pull request, a comment, a failed check).</summary>
    public const string Forge = "forge";

    /// <summary>The hive's own user on the forge (a site admin): an agent of that name would be handed its account.</summary>
    public const string ForgeCore = "core";

    /// <summary>Names no spawned agent may take; <c>manager</c> belongs to the manager agent alone.</summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.Ordinal) { Operator, Manager, Reminder, Hive, ForgeCore, Forge };

    /// <summary><c>^[a-z][a-z0-9-]{0,30}$</c>, checked without a regex engine's surprises on hostile input.</summary>
    public static bool IsWellFormed(string? name) => name is { Length: > 0 and <= 31 } && Pattern().IsMatch(name);

    [GeneratedRegex(@"^[a-z][a-z0-9-]{0,30}\z", RegexOptions.CultureInvariant)] // \z: $ would accept a trailing newline
    private static partial Regex Pattern();
}
