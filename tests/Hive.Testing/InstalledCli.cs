namespace Hive.Testing;

/// <summary>
/// A program <c>./test.sh</c> installs for the tests that drive it for real: its absolute path in <see cref="PathVariable"/>,
/// or, when it could not be installed, the reason in <see cref="SkipVariable"/>; those tests are then skipped, saying why.
/// </summary>
public sealed record InstalledCli(string Name, string PathVariable, string SkipVariable, bool Executable = false)
{
    /// <summary>Claude Code's native binary (<see cref="ClaudeCode"/>).</summary>
    public static readonly InstalledCli ClaudeCode = new("Claude Code", "HIVE_TEST_CLAUDE", "HIVE_TEST_CLAUDE_SKIP", Executable: true);

    /// <summary>Zed's ACP adapter for Claude Code (which bundles its own): its script, <c>dist/index.js</c>, run by node.</summary>
    public static readonly InstalledCli ClaudeAcp = new("claude-agent-acp", "HIVE_TEST_CLAUDE_ACP", "HIVE_TEST_CLAUDE_ACP_SKIP");

    /// <summary>
    /// Zed's ACP adapter for OpenAI's Codex (Codex built in): its native binary, <c>@zed-industries/codex-acp-linux-x64/bin/codex-acp</c>,
    /// not the Node launcher, against <see cref="FakeOpenAiApi"/>.
    /// </summary>
    public static readonly InstalledCli CodexAcp = new("codex-acp", "HIVE_TEST_CODEX_ACP", "HIVE_TEST_CODEX_ACP_SKIP", Executable: true);

    /// <summary>opencode (which speaks ACP itself, <c>opencode acp</c>): its native binary, <c>opencode-linux-x64/bin/opencode</c>, against <see cref="FakeOpenAiApi"/>.</summary>
    public static readonly InstalledCli OpenCode = new("opencode", "HIVE_TEST_OPENCODE", "HIVE_TEST_OPENCODE_SKIP", Executable: true);

    /// <summary>Gemini CLI (which speaks ACP itself, <c>gemini --acp</c>): its bundle, <c>@google/gemini-cli/bundle/gemini.js</c>, run by node.</summary>
    public static readonly InstalledCli GeminiCli = new("Gemini CLI", "HIVE_TEST_GEMINI", "HIVE_TEST_GEMINI_SKIP");

    /// <summary>The path the variable names, or null: see <see cref="SkipReason"/>.</summary>
    public string? Path => Find().Path;

    /// <summary>Why the tests that drive it cannot run here, or null when they can.</summary>
    public string? SkipReason => Find().Reason;

    private (string? Path, string? Reason) Find()
    {
        var path = System.Environment.GetEnvironmentVariable(PathVariable);
        if (string.IsNullOrEmpty(path))
        {
            var skip = System.Environment.GetEnvironmentVariable(SkipVariable);
            return (null, string.IsNullOrEmpty(skip)
                ? $"{Name} is not installed for the tests ({PathVariable} is not set): run ./test.sh, which installs it, or set {PathVariable}"
                : $"{Name} is not installed for the tests: {skip}");
        }
        const UnixFileMode executable = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return System.IO.Path.IsPathFullyQualified(path) && File.Exists(path) && (!Executable || (File.GetUnixFileMode(path) & executable) != 0)
            ? (path, null)
            : (null, $"{PathVariable}={path} is not the absolute path of {(Executable ? "an executable file" : "a file")}: run ./test.sh, which installs {Name}, or correct it");
    }
}
