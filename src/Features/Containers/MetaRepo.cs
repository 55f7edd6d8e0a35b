using System.Text.Json;
using Hive.Shared;
using Hive.Shared.Changes;
using Hive.Shared.Json;
using Hive.Shared.Native;
using Hive.Shared.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// One agent's configuration as <c>meta/agents/&lt;name&gt;.json</c> holds it. <c>secrets</c> maps env var names to secret
/// names (<c>{"ANTHROPIC_API_KEY": "anthropic"}</c>): the file, the approval's diff and the forge hold only those names.
/// </summary>
public sealed record AgentConfig(
    IReadOnlyList<string>? Command, string? Driver, IReadOnlyDictionary<string, string>? Env, string? Purpose, string? Restart,
    IReadOnlyList<string>? Mounts, IReadOnlyList<string>? Inputs = null, IReadOnlyList<string>? AllowedRecipients = null,
    IReadOnlyDictionary<string, string>? Secrets = null);

/// <summary>An outside thing agents are built from, pinned: a local git repository (pinned to a commit) or a path (a content hash).</summary>
public sealed record MetaInput(string Name, string Source, string? Pin);

/// <summary>A commit of the meta repo, for <c>GET /api/meta</c>.</summary>
public sealed record MetaCommit(string Id, string Message, DateTimeOffset At);

/// <summary>A meta file that is not a valid configuration (hand-edited, say): the agent keeps running as it was.</summary>
public sealed class MetaFileException(string message) : Hive.Shared.Errors.HiveException(message, Hive.Shared.Errors.ErrorCodes.Conflict, 409);

/// <summary>
/// The meta repo at <c>&lt;DataDir&gt;/meta</c>: one file per managed agent (<c>agents/&lt;name&gt;.json</c>), real git
/// (the <c>git</c> CLI, argv only, never a shell; the user's and the system's git configuration ignored; author
/// <c>hive</c>). Every change of an agent's configuration is a commit saying who asked. A proposal is pinned when it
/// is made, as <c>refs/proposal/&lt;id&gt;</c> (a commit on top of <c>main</c> built in a private index, so the work tree
/// never holds an unapproved file), and its fate is recorded as refs too: <c>approved/&lt;id&gt;</c>, then
/// <c>deployed/&lt;id&gt;</c> or <c>failed/&lt;id&gt;</c> (a commit whose message is the reason), or <c>denied/&lt;id&gt;</c>
/// (with the operator's note). One git operation at a time.
/// </summary>
public sealed class MetaRepo(HivePaths paths, IServiceScopeFactory scopes, ILogger<MetaRepo> logger, IOptions<MetaOptions> options, StateChanges changes)
{
    private readonly MetaOptions _options = options.Value;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _unavailable;
    private bool _ready;

    public string Dir => paths.MetaDir;

    public static string FileOf(string agent) => $"agents/{agent}.json";

    /// <summary>Null when the repo works; else why not (no git on this machine, say).</summary>
    public string? Unavailable => _ready ? null : _unavailable;

    /// <summary>Creates the repo on first use (branch <c>main</c>, an empty <c>inputs.json</c>).</summary>
    public async Task EnsureAsync()
    {
        if (_ready) return;
        await _lock.WaitAsync();
        try
        {
            if (_ready) return;
            if (!Directory.Exists(Path.Combine(Dir, ".git")))
            {
                HivePaths.EnsurePrivateDirectory(Dir);
                await GitAsync("init", "-q", "-b", "main");
                Directory.CreateDirectory(Path.Combine(Dir, "agents"));
                await File.WriteAllTextAsync(Path.Combine(Dir, "inputs.json"), "[]\n");
                await GitAsync("add", "-A");
                await GitAsync("commit", "-q", "-m", "hive: a new meta repo");
            }
            _ready = true;
        }
        catch (Exception e) when (e is MetaFileException or System.ComponentModel.Win32Exception)
        {
            _unavailable = $"the meta repo at {Dir} cannot be used: {e.Message}";
            logger.LogWarning("meta: {Why}", _unavailable);
            throw new MetaFileException(_unavailable);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Writes (or, with null, removes) an agent's file and commits it when it changed; the new <c>main</c>, or null if nothing changed.</summary>
    public async Task<string?> CommitAgentAsync(string agent, AgentConfig? config, string message)
    {
        await EnsureAsync();
        await _lock.WaitAsync();
        string? commit = null;
        try
        {
            var path = Path.Combine(Dir, "agents", agent + ".json");
            if (config is null)
            {
                if (!File.Exists(path)) return null;
                File.Delete(path);
            }
            else
            {
                var text = Serialize(config);
                if (File.Exists(path) && await File.ReadAllTextAsync(path) == text) return null;
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, text);
            }
            await GitAsync("add", "-A", "--", "agents");
            if ((await GitAsync("status", "--porcelain", "--", "agents")).Length == 0) return null;
            await GitAsync("commit", "-q", "-m", message);
            commit = (await GitAsync("rev-parse", "main")).Trim();
            return commit;
        }
        finally
        {
            _lock.Release();
            if (commit is not null) await PublishCommittedAsync(commit);
        }
    }

    /// <summary>
    /// Writes the files of <paramref name="files"/> (name → text) that <paramref name="dir"/> lacks and commits them; a file
    /// already there, edited or not, is left as it is.
    /// </summary>
    public async Task AddMissingFilesAsync(string dir, IReadOnlyDictionary<string, string> files, string message)
    {
        await EnsureAsync();
        await _lock.WaitAsync();
        string? commit = null;
        try
        {
            var full = Path.Combine(Dir, dir);
            Directory.CreateDirectory(full);
            var added = new List<string>();
            foreach (var (name, text) in files)
            {
                var path = Path.Combine(full, name);
                if (File.Exists(path)) continue;
                await File.WriteAllTextAsync(path, text);
                added.Add($"{dir}/{name}");
            }
            if (added.Count == 0) return;
            await GitAsync(["add", "--", .. added]);
            await GitAsync(["commit", "-q", "-m", message, "--", .. added]);
            commit = (await GitAsync("rev-parse", "main")).Trim();
        }
        finally
        {
            _lock.Release();
            if (commit is not null) await PublishCommittedAsync(commit);
        }
    }

    /// <summary>The agent's file on <c>main</c>, parsed; null when there is none; <see cref="MetaFileException"/> when it is not valid.</summary>
    public async Task<AgentConfig?> ReadAgentAsync(string agent, string rev = "main")
    {
        await EnsureAsync();
        string text;
        try
        {
            text = await GitAsync("show", $"{rev}:{FileOf(agent)}");
        }
        catch (MetaFileException)
        {
            return null;
        }
        return Parse(agent, text);
    }

    public static AgentConfig Parse(string agent, string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text, StrictJson.DocumentOptions);
            return document.Deserialize<AgentConfig>(HiveJson.Options) ?? throw new MetaFileException($"{FileOf(agent)} is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new MetaFileException($"{FileOf(agent)} in the meta repo is not a valid configuration: {e.Message}");
        }
    }

    /// <summary>
    /// Pins a proposal: a commit on top of <c>main</c> with the agent's new file, at <c>refs/proposal/&lt;id&gt;</c>; returns
    /// it, its diff, and its base (<c>main</c> as it was diffed against, read under the same lock).
    /// </summary>
    public async Task<(string Commit, string Diff, string Base)> ProposeAsync(long id, string agent, AgentConfig config, string message)
    {
        await EnsureAsync();
        await _lock.WaitAsync();
        try
        {
            var (commit, diff, @base) = await CommitOnMainAsync($"proposal-{id}", agent, config, message);
            await GitAsync("update-ref", $"refs/proposal/{id}", commit);
            return (commit, diff, @base);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>What a new configuration of the agent would change in its file on <c>main</c>: the diff, empty when nothing.</summary>
    public async Task<string> PreviewAsync(string agent, AgentConfig config)
    {
        await EnsureAsync();
        await _lock.WaitAsync();
        try
        {
            return (await CommitOnMainAsync($"preview-{Guid.NewGuid():N}", agent, config, $"a preview for {agent}")).Diff;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// A commit on top of <c>main</c> with the agent's new file, built in a private index (the work tree never holds it) and
    /// referenced by nothing yet; with its diff and its base. Under the lock.
    /// </summary>
    private async Task<(string Commit, string Diff, string Base)> CommitOnMainAsync(string tag, string agent, AgentConfig config, string message)
    {
        var index = Path.Combine(Dir, ".git", $"{tag}.index");
        try
        {
            var blobFile = Path.Combine(Dir, ".git", $"{tag}.json");
            await File.WriteAllTextAsync(blobFile, Serialize(config));
            var blob = (await GitAsync("hash-object", "-w", blobFile)).Trim();
            File.Delete(blobFile);
            var env = new Dictionary<string, string> { ["GIT_INDEX_FILE"] = index };
            var @base = (await GitAsync("rev-parse", "main")).Trim();
            await GitAsync(env, "read-tree", @base);
            await GitAsync(env, "update-index", "--add", "--cacheinfo", $"100644,{blob},{FileOf(agent)}");
            var tree = (await GitAsync(env, "write-tree")).Trim();
            var commit = (await GitAsync("commit-tree", tree, "-p", @base, "-m", message)).Trim();
            var diff = await GitAsync("diff", @base, commit, "--", FileOf(agent));
            return (commit, diff, @base);
        }
        finally
        {
            File.Delete(index);
        }
    }

    /// <summary>Where a proposal stands against <c>main</c>, judged by the agent's file alone (other agents' commits do not matter).</summary>
    public enum Standing
    {
        /// <summary><c>main</c>'s file is the one the proposal was diffed against: approving it installs exactly its diff.</summary>
        OnBase,
        /// <summary><c>main</c>'s file is the proposed one already (a deploy that got as far as its commit).</summary>
        Applied,
        /// <summary>The file changed since the proposal was made: installing it would undo that change.</summary>
        Stale,
    }

    /// <summary>
    /// Compares the agent's file on <c>main</c> with the proposal's base (<paramref name="baseCommit"/>; for approvals
    /// older than that column, the proposal commit's parent, which is the same commit) and with the proposal's own file.
    /// </summary>
    public async Task<Standing> StandingOfAsync(long id, string agent, string? baseCommit)
    {
        await EnsureAsync();
        var now = await BlobAsync("main", agent);
        if (now == await BlobAsync($"refs/proposal/{id}", agent)) return Standing.Applied;
        return now == await BlobAsync(baseCommit ?? $"refs/proposal/{id}^", agent) ? Standing.OnBase : Standing.Stale;
    }

    /// <summary>The blob id of the agent's file at <paramref name="rev"/>; null when it has none there.</summary>
    private async Task<string?> BlobAsync(string rev, string agent)
    {
        try
        {
            return (await GitAsync("rev-parse", "--verify", "--quiet", $"{rev}:{FileOf(agent)}")).Trim();
        }
        catch (MetaFileException)
        {
            return null;
        }
    }

    /// <summary>
    /// Puts an approved proposal's file on <c>main</c> (a commit of its own, so proposals made meanwhile for other agents
    /// stand) and records <c>refs/approved/&lt;id&gt;</c>; returns (<c>main</c> before, <c>main</c> after). Only for a
    /// proposal that is <see cref="Standing.OnBase"/>: the whole proposed file is installed, which is then exactly its diff.
    /// </summary>
    public async Task<(string Before, string After)> ApplyProposalAsync(long id, string agent, string message)
    {
        await EnsureAsync();
        var proposal = (await GitAsync("rev-parse", $"refs/proposal/{id}")).Trim();
        var config = Parse(agent, await GitAsync("show", $"{proposal}:{FileOf(agent)}"));
        var before = (await GitAsync("rev-parse", "main")).Trim();
        await CommitAgentAsync(agent, config, message);
        await MarkApprovedAsync(id);
        return (before, (await GitAsync("rev-parse", "main")).Trim());
    }

    /// <summary>The commit <c>main</c> is on now.</summary>
    public async Task<string> MainAsync()
    {
        await EnsureAsync();
        return (await GitAsync("rev-parse", "main")).Trim();
    }

    /// <summary><c>refs/approved/&lt;id&gt;</c> = the proposal (idempotent: a start-up finishing a deploy writes it again).</summary>
    public async Task MarkApprovedAsync(long id) =>
        await GitAsync("update-ref", $"refs/approved/{id}", (await GitAsync("rev-parse", $"refs/proposal/{id}")).Trim());

    /// <summary>The fate recorded for an approval (<c>deployed</c> or <c>failed</c>) and its message; null when none is.</summary>
    public async Task<(string Fate, string Message)?> FateOfAsync(long id)
    {
        await EnsureAsync();
        foreach (var fate in (string[])["deployed", "failed"])
        {
            try
            {
                return (fate, (await GitAsync("log", "-1", "--format=%B", $"refs/{fate}/{id}")).Trim());
            }
            catch (MetaFileException) { }
        }
        return null;
    }

    /// <summary>
    /// A test hook (<c>Hive:Meta:PauseDeployAt</c>): at the named step the deploy says so in the log and never goes on, so
    /// a test kills the host exactly there instead of guessing a moment.
    /// </summary>
    public async Task PauseIfAskedAsync(string step, long id)
    {
        if (!string.Equals(_options.PauseDeployAt, step, StringComparison.Ordinal)) return;
        logger.LogWarning("meta: the deploy of approval {Id} paused at {Step} (Hive:Meta:PauseDeployAt)", id, step);
        await Task.Delay(Timeout.Infinite);
    }

    /// <summary>Records an approval's fate: <c>refs/&lt;fate&gt;/&lt;id&gt;</c>, a commit on top of <paramref name="target"/> whose message says why.</summary>
    public async Task MarkAsync(string fate, long id, string target, string message)
    {
        await EnsureAsync();
        var tree = (await GitAsync("rev-parse", $"{target}^{{tree}}")).Trim();
        var note = (await GitAsync("commit-tree", tree, "-p", target, "-m", message)).Trim();
        await GitAsync("update-ref", $"refs/{fate}/{id}", note);
    }

    /// <summary>
    /// A failed deploy: the agent's file goes back to <paramref name="old"/>. When <c>main</c> is still the deploy's own
    /// commit (<paramref name="after"/>, whose parent is <paramref name="before"/>), <c>main</c> is reset to where it was;
    /// when something was committed on top since, or the commit was made in a life of the host that was killed
    /// (<paramref name="before"/> unknown), the old file is committed back, so nothing else on <c>main</c> is lost.
    /// </summary>
    public async Task RevertAgentAsync(string agent, AgentConfig? old, string? before, string after, string message)
    {
        await _lock.WaitAsync();
        var reset = false;
        try
        {
            if (before is not null && (await GitAsync("rev-parse", "main")).Trim() == after)
            {
                await GitAsync("reset", "-q", "--hard", before);
                reset = true;
            }
        }
        finally
        {
            _lock.Release();
        }
        if (reset) await PublishCommittedAsync(before!);
        else await CommitAgentAsync(agent, old, message);
    }

    public async Task<IReadOnlyList<MetaCommit>> LogAsync(int count)
    {
        await EnsureAsync();
        var text = await GitAsync("log", $"-{count}", "--format=%H%x1f%cI%x1f%s%x1e", "main");
        return text.Split('\x1e', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('\x1f'))
            .Select(f => new MetaCommit(f[0], f[2], DateTimeOffset.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
    }

    /// <summary>The pinned inputs (<c>inputs.json</c> on <c>main</c>).</summary>
    public async Task<IReadOnlyList<MetaInput>> ReadInputsAsync()
    {
        await EnsureAsync();
        var text = await GitAsync("show", "main:inputs.json");
        try
        {
            return JsonSerializer.Deserialize<List<MetaInput>>(text, HiveJson.Options) ?? [];
        }
        catch (JsonException e)
        {
            throw new MetaFileException($"inputs.json in the meta repo is not valid: {e.Message}");
        }
    }

    /// <summary>Writes <c>inputs.json</c> and commits it when it changed; true when it did.</summary>
    public async Task<bool> CommitInputsAsync(IReadOnlyList<MetaInput> inputs, string message)
    {
        await EnsureAsync();
        await _lock.WaitAsync();
        string? commit = null;
        try
        {
            var path = Path.Combine(Dir, "inputs.json");
            var text = JsonSerializer.Serialize(inputs, Indented) + "\n";
            if (File.Exists(path) && await File.ReadAllTextAsync(path) == text) return false;
            await File.WriteAllTextAsync(path, text);
            await GitAsync("add", "--", "inputs.json");
            await GitAsync("commit", "-q", "-m", message);
            commit = (await GitAsync("rev-parse", "main")).Trim();
            return true;
        }
        finally
        {
            _lock.Release();
            if (commit is not null) await PublishCommittedAsync(commit);
        }
    }

    /// <summary>Tells whoever follows the repo (the forge pushes it) that <c>main</c> moved; their trouble is not the commit's.</summary>
    private async Task PublishCommittedAsync(string commit)
    {
        try
        {
            // Raised as a change of its own (no rows): published in order with the hive's other events, under the gate.
            await changes.RunAsync(scopes, (change, _) =>
            {
                change.Raise(new MetaCommitted(commit));
                return Task.CompletedTask;
            }, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "meta: telling followers about commit {Commit} failed", commit);
        }
    }

    /// <summary>Every agent file on <c>main</c> that names <paramref name="input"/> in its <c>inputs</c>.</summary>
    public async Task<IReadOnlyList<string>> AgentsUsingAsync(IReadOnlySet<string> inputs)
    {
        await EnsureAsync();
        var users = new List<string>();
        var files = (await GitAsync("ls-tree", "--name-only", "main", "agents/")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var file in files)
        {
            var agent = Path.GetFileNameWithoutExtension(file);
            try
            {
                if ((await ReadAgentAsync(agent))?.Inputs?.Any(inputs.Contains) == true) users.Add(agent);
            }
            catch (MetaFileException e)
            {
                logger.LogWarning("meta: {Reason}", e.Message);
            }
        }
        return users;
    }

    /// <summary>
    /// An input's pin now: a git repository's <c>HEAD</c> commit, or a SHA-256 over a regular file's bytes or a directory's
    /// regular files (names and bytes, in order; symlinks and special files skipped, never opened). Devices, FIFOs, sockets
    /// and a symlink as the source itself are refused; reading is bounded in bytes and time (<see cref="MetaInputPins"/>).
    /// </summary>
    public async Task<string> PinOfAsync(string source, CancellationToken cancellationToken = default)
    {
        var status = MetaInputPins.StatusOf(source) ?? throw new MetaFileException($"input source {source} does not exist");
        if (MetaInputPins.RefusalOf(source, status) is { } refusal) throw new MetaFileException(refusal);
        var limit = _options.InputTimeout;
        if (status.Type == FileStatus.Directory && Directory.Exists(Path.Combine(source, ".git")))
            return (await GitAsync(null, limit, ["-C", source, "rev-parse", "HEAD"])).Trim();
        try
        {
            // Off the request's thread: the reads are synchronous (each bounded); the walk checks the clock between them.
            return await Task.Run(() =>
            {
                using var pins = new MetaInputPins(_options.MaxInputBytes, limit, cancellationToken);
                return pins.Pin(source, status);
            }, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MetaFileException($"input source {source} cannot be read: {e.Message}");
        }
    }

    public async Task<IReadOnlyList<string>> RefsAsync(string fate)
    {
        await EnsureAsync();
        return (await GitAsync("for-each-ref", "--format=%(refname)", $"refs/{fate}/"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    internal static string Serialize(AgentConfig config) => JsonSerializer.Serialize(config, Indented) + "\n";

    private static readonly JsonSerializerOptions Indented = new(HiveJson.Options) { WriteIndented = true };

    private Task<string> GitAsync(params string[] args) => GitAsync(null, args);

    private Task<string> GitAsync(IReadOnlyDictionary<string, string>? env, params string[] args) => GitAsync(env, TimeSpan.FromSeconds(30), args);

    /// <summary>
    /// Runs git in the repo through the host's one runner (<see cref="ChildProcess"/>): argv only, a clean environment with its
    /// own identity, no user or system configuration, no prompts.
    /// </summary>
    private async Task<string> GitAsync(IReadOnlyDictionary<string, string>? env, TimeSpan limit, string[] args)
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
