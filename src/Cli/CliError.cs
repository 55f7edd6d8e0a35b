namespace Hive.Cli;

/// <summary>
/// A request the hive refused or that could not be made: the wire's <c>code</c> (<c>not_found</c>, <c>validation</c>, ...,
/// or <c>unavailable</c> / <c>unauthorized</c> from the client side) and its sentence. Exit status 1.
/// </summary>
public sealed class CliError(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>The command line itself is wrong (a missing option the parser cannot know about): exit status 2.</summary>
public sealed class UsageError(string message) : Exception(message);
