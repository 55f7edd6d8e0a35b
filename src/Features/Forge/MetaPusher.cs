using Hive.Shared;
using Hive.Shared.Hosting;
using Hive.Shared.Processes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>
/// Pushes the meta repo's <c>main</c> to the forge's <c>core/meta</c> after each meta commit and each whole sweep, in the
/// background (a commit never waits for it; pushes asked for while one runs become one more). Hive's meta repo is the
/// source of truth, so the push is forced (a failed deploy moves <c>main</c> back). The core token reaches git through a
/// credential helper that reads <c>forge-core-token</c> itself: never in a URL, an argv, the environment or a log line.
/// A failure is logged and kept in <c>GET /api/forge</c>; the next commit or sweep tries again.
/// </summary>
internal sealed class MetaPusher(IOptions<ForgeOptions> options, HivePaths paths, ForgeState state, TimeProvider clock, ILogger<MetaPusher> logger)
    : TriggeredBackgroundService(new WakeSignal(), idle: null, passAtStart: false, clock, logger)
{
    /// <summary>Pushes attempted since start-up, failed ones included (tests wait on it).</summary>
    public long Attempts => CompletedPasses;

    public void Push() => Wake();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.Enabled ? base.ExecuteAsync(stoppingToken) : Task.CompletedTask;

    protected override Task PassAsync(CancellationToken stoppingToken) => PushAsync(stoppingToken);

    protected override void PassFailed(Exception e) => Logger.LogError(e, "forge: pushing the meta repo failed unexpectedly");

    private async Task PushAsync(CancellationToken ct)
    {
        var tokenFile = ForgeSweep.CoreTokenPath(paths);
        if (!Directory.Exists(Path.Combine(paths.MetaDir, ".git"))) return; // no meta repo yet: the first commit asks again
        if (!File.Exists(tokenFile))
        {
            Record(null, "the core token is not issued yet (see the sweep's errors)");
            return;
        }
        var commit = (await GitAsync(["rev-parse", "--verify", "--quiet", "refs/heads/main"], tokenFile, ct)).Output.Trim();
        if (commit.Length == 0) return;
        var url = $"{options.Value.BaseUri}{ForgeSweep.CoreUser}/{ForgeSweep.MetaRepo}.git";
        var (code, _, error) = await GitAsync(["push", "--porcelain", url, "+refs/heads/main:refs/heads/main"], tokenFile, ct);
        if (code == 0)
        {
            Record(commit, null); // recorded before it is said: whoever reads the log line finds the status already set
            Logger.LogInformation("forge: pushed meta {Commit} to {Url}", commit[..Math.Min(12, commit.Length)], url);
            return;
        }
        var why = Redact(error.Trim(), tokenFile);
        why = why.Length > 500 ? why[..500] + "…" : why;
        Record(commit, $"git push failed: {why}");
        Logger.LogWarning("forge: pushing meta {Commit} to {Url} failed (the next commit or sweep tries again): {Error}", commit[..Math.Min(12, commit.Length)], url, why);
    }

    private void Record(string? commit, string? error) => state.LastPush = new ForgePush(Clock.GetUtcNow(), commit, error);

    /// <summary>
    /// git in the meta repo through the host's one runner (<see cref="ChildProcess"/>: a clean environment, never the host's,
    /// which may hold the operator token): no user or system configuration, no prompts, and the credential helper as the only one.
    /// </summary>
    private async Task<(int Code, string Output, string Error)> GitAsync(string[] args, string tokenFile, CancellationToken ct)
    {
        var git = await ChildProcess.RunAsync(new ChildCommand("git", args)
        {
            WorkingDirectory = paths.MetaDir,
            Timeout = TimeSpan.FromSeconds(options.Value.PushTimeoutSeconds),
            Environment = ForgeGitEnvironment.For(options.Value, paths.DataDir, ForgeSweep.CoreUser, tokenFile),
        }, ct);
        return git.TimedOut
            ? (-1, "", $"git {args[0]} did not finish within {options.Value.PushTimeoutSeconds:0.#} s")
            : (git.ExitCode, git.Stdout, git.Stderr);
    }

    private static string Redact(string text, string tokenFile)
    {
        try
        {
            return ForgeGitEnvironment.Redact(text, File.ReadAllText(tokenFile).Trim());
        }
        catch (IOException)
        {
            return text;
        }
    }
}
