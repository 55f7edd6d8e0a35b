namespace Hive.Tests.Infrastructure;

/// <summary>
/// A fact that drives the real Claude Code CLI (<see cref="ClaudeCode"/>): skipped, visibly and saying why, when there
/// is none to drive (xunit 2 has no skip decided inside a test). <c>./test.sh</c> installs it, or says in one line why
/// it could not and counts the skipped tests in its summary. Lives here, not in Hive.Testing, which holds no test framework.
/// </summary>
public sealed class ClaudeCodeFactAttribute : FactAttribute
{
    public ClaudeCodeFactAttribute()
    {
        if (ClaudeCode.SkipReason is { } reason) Skip = reason;
    }
}
