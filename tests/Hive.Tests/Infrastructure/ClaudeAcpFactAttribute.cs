namespace Hive.Tests.Infrastructure;

/// <summary>A test that runs the real claude-agent-acp: skipped, saying why, when <c>./test.sh</c> could not install it.</summary>
public sealed class ClaudeAcpFactAttribute : FactAttribute
{
    public ClaudeAcpFactAttribute()
    {
        if (InstalledCli.ClaudeAcp.SkipReason is { } reason) Skip = reason;
    }
}
