namespace Hive.Tests.Infrastructure;

/// <summary>A test that runs the real opencode: skipped, saying why, when <c>./test.sh</c> could not install it.</summary>
public sealed class OpenCodeFactAttribute : FactAttribute
{
    public OpenCodeFactAttribute()
    {
        if (InstalledCli.OpenCode.SkipReason is { } reason) Skip = reason;
    }
}
