using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Hive.Testing;

/// <summary>
/// The real Claude Code CLI for the tests that drive it against <see cref="FakeMessagesApi"/>. <c>./test.sh</c> installs
/// the pinned version from npm into a cache and exports its native binary as <c>HIVE_TEST_CLAUDE</c>, or, when npm
/// cannot install it, the reason as <c>HIVE_TEST_CLAUDE_SKIP</c>; those tests are then skipped, saying why.
/// </summary>
public static class ClaudeCode
{
    /// <summary>The executable <c>HIVE_TEST_CLAUDE</c> names (an absolute path), or null when there is none: see <see cref="SkipReason"/>.</summary>
    public static string? Path => InstalledCli.ClaudeCode.Path;

    /// <summary>Why the tests that drive Claude Code cannot run here, or null when they can.</summary>
    public static string? SkipReason => InstalledCli.ClaudeCode.SkipReason;

    /// <summary>
    /// What Claude Code needs to talk to <paramref name="api"/> and to nothing else, writing only under
    /// <paramref name="home"/> (its <c>~/.claude</c>, <c>~/.claude.json</c>) and <paramref name="tmp"/> (it makes
    /// <c>$TMPDIR/claude-&lt;uid&gt;/</c> and <c>$TMPDIR/cc-socks/</c>): the fake's URL and key; no non-essential
    /// traffic (without it, it first sends <c>HEAD /api/hello</c>), telemetry or auto-update; and MCP tools listed in
    /// the request's <c>tools</c> as <c>mcp__&lt;server&gt;__&lt;tool&gt;</c> instead of behind its tool search.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Environment(FakeMessagesApi api, string apiKey, string home, string tmp) =>
        new Dictionary<string, string>
        {
            ["HOME"] = home,
            ["TMPDIR"] = tmp,
            ["ANTHROPIC_BASE_URL"] = api.BaseUrl,
            ["ANTHROPIC_API_KEY"] = apiKey,
            ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            ["DISABLE_TELEMETRY"] = "1",
            ["DISABLE_AUTOUPDATER"] = "1",
            ["ENABLE_TOOL_SEARCH"] = "false",
        };

    /// <summary>
    /// Inherited variables that would point Claude Code elsewhere (a developer's own key or config, another provider,
    /// XDG directories outside the test's): a child run gets none of them.
    /// </summary>
    public static bool IsForeignSetting(string name) =>
        name.StartsWith("ANTHROPIC_", StringComparison.Ordinal) || name.StartsWith("CLAUDE_", StringComparison.Ordinal)
        || name.StartsWith("XDG_", StringComparison.Ordinal) || name is "ENABLE_TOOL_SEARCH" or "DISABLE_TELEMETRY" or "DISABLE_AUTOUPDATER";

    /// <summary>One run of the CLI: its exit code, its stdout (with <c>--output-format stream-json</c>, one JSON object a line) and its stderr.</summary>
    public sealed record Run(int ExitCode, string Output, string Errors)
    {
        /// <summary>The stdout lines that are JSON objects, in order.</summary>
        public IReadOnlyList<JsonElement> Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith('{'))
            .Select(l =>
            {
                try { return JsonDocument.Parse(l).RootElement.Clone(); } catch (JsonException) { return default; }
            })
            .Where(e => e.ValueKind == JsonValueKind.Object)
            .ToList();

        /// <summary>The lines of this <c>type</c> (and <c>subtype</c>, when given): <c>system</c>/<c>init</c>, <c>assistant</c>, <c>user</c>, <c>result</c>.</summary>
        public IReadOnlyList<JsonElement> LinesOf(string type, string? subtype = null) => Lines
            .Where(l => l.TryGetProperty("type", out var t) && t.GetString() == type
                        && (subtype is null || (l.TryGetProperty("subtype", out var s) && s.GetString() == subtype)))
            .ToList();

        public override string ToString() => $"claude exited {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Errors}";
    }

    /// <summary>
    /// Runs <see cref="Path"/> with <paramref name="args"/> in <paramref name="workingDirectory"/>, with the inherited
    /// environment less <see cref="IsForeignSetting"/> plus <paramref name="environment"/>, <paramref name="stdin"/>
    /// written then closed (closed at once when null: with <c>-p</c>, text on stdin is appended to the prompt), until it
    /// exits; past <paramref name="timeout"/> it and its children are killed (by pid) and a <see cref="TimeoutException"/>
    /// carries what it printed.
    /// </summary>
    public static async Task<Run> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string> environment, TimeSpan timeout,
        string? stdin, params string[] args)
    {
        var path = Path ?? throw new InvalidOperationException(SkipReason);
        var info = new ProcessStartInfo(path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var name in info.Environment.Keys.Where(IsForeignSetting).ToList()) info.Environment.Remove(name);
        foreach (var (name, value) in environment) info.Environment[name] = value;

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {path}");
        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                throw new TimeoutException($"claude did not exit within {timeout.TotalSeconds} s and was killed\n--- stdout\n{await output}\n--- stderr\n{await errors}");
            }
            return new Run(process.ExitCode, await output, await errors);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }
}
