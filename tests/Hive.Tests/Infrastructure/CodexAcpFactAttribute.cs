namespace Hive.Tests.Infrastructure;

/// <summary>A test that runs the real codex-acp: skipped, saying why, when <c>./test.sh</c> could not install it.</summary>
public sealed class CodexAcpFactAttribute : FactAttribute
{
    public CodexAcpFactAttribute()
    {
        if (InstalledCli.CodexAcp.SkipReason is { } reason) Skip = reason;
    }
}
