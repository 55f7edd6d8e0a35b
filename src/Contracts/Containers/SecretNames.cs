using System.Text.RegularExpressions;

namespace Hive.Contracts.Containers;

/// <summary>What a secret may be named: what an agent's <c>secrets</c> and a workflow's <c>credential</c> refer to it by.</summary>
public static partial class SecretNames
{
    public const string Pattern = "^[a-z][a-z0-9_-]{0,63}$";

    public static bool IsWellFormed(string? name) => name is not null && NameRegex().IsMatch(name);

    [GeneratedRegex(Pattern)]
    private static partial Regex NameRegex();
}
