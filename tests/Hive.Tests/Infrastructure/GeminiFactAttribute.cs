namespace Hive.Tests.Infrastructure;

/// <summary>A test that runs the real Gemini CLI: skipped, saying why, when <c>./test.sh</c> could not install it.</summary>
public sealed class GeminiFactAttribute : FactAttribute
{
    public GeminiFactAttribute()
    {
        if (InstalledCli.GeminiCli.SkipReason is { } reason) Skip = reason;
    }
}
