namespace Hive.Testing;

/// <summary>
/// Zed's real ACP adapter for OpenAI's Codex (<c>@zed-industries/codex-acp</c>, a native binary with Codex built in), for
/// the tests that run it as a hive agent against <see cref="FakeOpenAiApi"/>. <c>./test.sh</c> installs the pinned version
/// from npm into a cache and exports its native binary (<c>@zed-industries/codex-acp-linux-x64/bin/codex-acp</c>, not the
/// Node launcher) as <c>HIVE_TEST_CODEX_ACP</c>, or, when npm cannot install it, the reason as <c>HIVE_TEST_CODEX_ACP_SKIP</c>;
/// those tests are then skipped, saying why.
/// </summary>
public static class CodexAcp
{
    public const string PathVariable = "HIVE_TEST_CODEX_ACP";
    public const string SkipVariable = "HIVE_TEST_CODEX_ACP_SKIP";

    /// <summary>The adapter's binary <c>HIVE_TEST_CODEX_ACP</c> names (an absolute path), or null: see <see cref="SkipReason"/>.</summary>
    public static string? Path => Find().Path;

    /// <summary>Why the tests that drive the adapter cannot run here, or null when they can.</summary>
    public static string? SkipReason => Find().Reason;

    private static (string? Path, string? Reason) Find()
    {
        var path = System.Environment.GetEnvironmentVariable(PathVariable);
        if (string.IsNullOrEmpty(path))
        {
            var skip = System.Environment.GetEnvironmentVariable(SkipVariable);
            return (null, string.IsNullOrEmpty(skip)
                ? $"codex-acp is not installed for the tests ({PathVariable} is not set): run ./test.sh, which installs it, or set {PathVariable}"
                : $"codex-acp is not installed for the tests: {skip}");
        }
        return System.IO.Path.IsPathFullyQualified(path) && File.Exists(path)
            ? (path, null)
            : (null, $"{PathVariable}={path} is not the absolute path of a file: run ./test.sh, which installs codex-acp, or correct it");
    }
}
