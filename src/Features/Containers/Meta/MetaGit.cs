using Hive.Shared.Processes;

namespace Hive.Features.Containers;

/// <summary>
/// git in the meta repo: the <c>git</c> CLI, argv only, never a shell; the user's and the system's git configuration
/// ignored; author <c>hive</c>. One git operation at a time: whoever runs a series of them holds <see cref="Turn"/>.
/// </summary>
internal sealed class MetaGit(string dir)
{
    public string Dir => dir;

    /// <summary>One git operation at a time (<see cref="MetaRepo.LockedAsync{T}"/>, <see cref="MetaGroupCommit"/>, the repo's creation).</summary>
    public SemaphoreSlim Turn { get; } = new(1, 1);

    public Task<string> RunAsync(params string[] args) => RunAsync(null, args);

    public Task<string> RunAsync(IReadOnlyDictionary<string, string>? env, params string[] args) => RunAsync(env, TimeSpan.FromSeconds(30), args);

    /// <summary>
    /// Runs git in the repo through the host's one runner (<see cref="ChildProcess"/>): argv only, a clean environment with its
    /// own identity, no user or system configuration, no prompts.
    /// </summary>
    public async Task<string> RunAsync(IReadOnlyDictionary<string, string>? env, TimeSpan limit, string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_CONFIG_GLOBAL"] = "/dev/null", ["GIT_TERMINAL_PROMPT"] = "0",
            ["GIT_AUTHOR_NAME"] = "hive", ["GIT_AUTHOR_EMAIL"] = "hive@hive.invalid",
            ["GIT_COMMITTER_NAME"] = "hive", ["GIT_COMMITTER_EMAIL"] = "hive@hive.invalid",
        };
        foreach (var (key, value) in env ?? new Dictionary<string, string>()) environment[key] = value;
        ChildResult git;
        try
        {
            git = await ChildProcess.RunAsync(new ChildCommand("git", args) { WorkingDirectory = Dir, Environment = environment, Timeout = limit });
        }
        catch (ChildProcessException e)
        {
            throw new MetaFileException(e.Message);
        }
        if (git.TimedOut)
            throw new MetaFileException($"{(args[0] == "-C" ? $"git {args[2]} in {args[1]}" : $"git {args[0]}")} did not finish within {limit.TotalSeconds:0.###} s");
        if (git.ExitCode != 0)
        {
            var message = git.Stderr.Trim();
            throw new MetaFileException($"git {args[0]} failed: {(message.Length > 0 ? message[..Math.Min(message.Length, 500)] : $"exit code {git.ExitCode}")}");
        }
        if (git.StdoutTruncated) throw new MetaFileException($"git {args[0]} printed more than {ChildProcess.DefaultCaptureBytes} bytes");
        return git.Stdout;
    }
}
