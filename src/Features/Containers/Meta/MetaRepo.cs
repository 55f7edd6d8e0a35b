using Hive.Contracts.Agents;
using Hive.Shared;
using Hive.Shared.Changes;
using Hive.Shared.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// The meta repo at <c>&lt;DataDir&gt;/meta</c>: one file per managed agent (<c>agents/&lt;name&gt;.json</c>), real git
/// (the <c>git</c> CLI, argv only, never a shell; the user's and the system's git configuration ignored; author
/// <c>hive</c>). Every change of an agent's configuration is a commit saying who asked. A proposal is pinned when it
/// is made and decided (<see cref="MetaProposals"/>); the pinned inputs are <see cref="MetaInputs"/>. One git operation at a time.
/// </summary>
public sealed class MetaRepo(HivePaths paths, IServiceScopeFactory scopes, ILogger<MetaRepo> logger, IOptions<MetaOptions> options, StateChanges changes)
{
    private readonly MetaOptions _options = options.Value;
    /// <summary>One git operation at a time (the proposals and inputs take it through <see cref="LockedAsync{T}"/> and <see cref="CommitAsync"/>).</summary>
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _unavailable;
    private bool _ready;

    public string Dir => paths.MetaDir;

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

    /// <summary>
    /// Writes (or, with null, removes) an agent's file and commits it when it changed; the commit that holds it, or null if
    /// nothing changed. With <paramref name="joins"/> the commit may hold other agents' files too (<see cref="CommitAsync"/>):
    /// for the lifecycle's records, never for a deploy, whose commit must be its own to be reset on a failed start.
    /// </summary>
    public Task<string?> CommitAgentAsync(string agent, AgentConfig? config, string message, bool joins = false) => CommitAsync(async () =>
    {
        var path = Path.Combine(Dir, "agents", agent + ".json");
        if (config is null)
        {
            if (!File.Exists(path)) return null;
            File.Delete(path);
        }
        else
        {
            var text = AgentFile.Serialize(config);
            if (File.Exists(path) && await File.ReadAllTextAsync(path) == text) return null;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, text);
        }
        return ["agents"];
    }, message, joins);

    /// <summary>
    /// Writes the files of <paramref name="files"/> (name → text) that <paramref name="dir"/> lacks and commits them; a file
    /// already there, edited or not, is left as it is.
    /// </summary>
    public Task AddMissingFilesAsync(string dir, IReadOnlyDictionary<string, string> files, string message) => CommitAsync(async () =>
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
        return added;
    }, message);

    /// <summary>
    /// One commit of the work tree, holding the lock: <paramref name="write"/> changes files and answers the paths to commit
    /// (null or none: nothing to commit). The commit that holds them; null when nothing changed.
    /// Group commit: whoever holds the lock commits every request queued behind it, in order, a joining request together with
    /// the joining ones right after it (one <c>git commit</c>, their messages joined), so creates in flight share one commit's
    /// git runs instead of each waiting for the others' (#34: a fleet spent most of its ramp queued here). Each caller still
    /// returns only once the commit holding its files is made. The commit is published by the first of its callers to get
    /// back, in that caller's own flow (inside its state change when it runs in one, as before), before that caller returns;
    /// a commit of its own (not joining) is thus published before its caller returns, as it always was.
    /// </summary>
    internal async Task<string?> CommitAsync(Func<Task<IReadOnlyList<string>?>> write, string message, bool joins = false)
    {
        await EnsureAsync();
        var mine = new Pending(write, message, joins);
        lock (_queue) _queue.Enqueue(mine);
        using (var given = new CancellationTokenSource())
        {
            // Either this caller gets the lock and commits, or one ahead of it commits its request meanwhile.
            var entered = _lock.WaitAsync(given.Token);
            if (await Task.WhenAny(entered, mine.Done.Task) == entered)
            {
                try
                {
                    // Until this caller's request is in a batch (another holder of the lock may have taken it already).
                    while (!mine.Taken && NextBatch() is { } batch) await CommitBatchAsync(batch);
                }
                finally
                {
                    _lock.Release();
                }
            }
            else
            {
                await given.CancelAsync();
                try
                {
                    await entered;
                    _lock.Release();
                }
                catch (OperationCanceledException) { }
            }
        }
        var commit = await mine.Done.Task;
        // Not by the one that ran git: it may wait on a caller's change to publish in, while that caller waits on it.
        if (commit is not null && mine.Batch!.ClaimPublication()) await PublishCommittedAsync(commit);
        return commit;
    }

    /// <summary>The oldest request and, when it joins, the joining ones queued right after it (at most <see cref="MaxBatch"/>).</summary>
    private List<Pending>? NextBatch()
    {
        lock (_queue)
        {
            if (!_queue.TryDequeue(out var first)) return null;
            var batch = new List<Pending> { first };
            while (first.Joins && batch.Count < MaxBatch && _queue.TryPeek(out var next) && next.Joins) batch.Add(_queue.Dequeue());
            var shared = new Batch();
            foreach (var request in batch)
            {
                request.Taken = true;
                request.Batch = shared;
            }
            return batch;
        }
    }

    /// <summary>
    /// Writes each request's files, in order, then one add and commit of all their paths, and answers each request: the new
    /// <c>main</c>, or null when it wrote nothing or nothing changed. A request whose write fails is answered with its
    /// exception and left out; a git failure fails all that wrote.
    /// </summary>
    private async Task CommitBatchAsync(List<Pending> batch)
    {
        foreach (var request in batch)
        {
            try
            {
                request.Paths = await request.Write();
            }
            catch (Exception e)
            {
                request.Done.TrySetException(e);
            }
        }
        var written = batch.Where(r => r.Paths is { Count: > 0 }).ToList();
        string? commit = null;
        if (written.Count > 0)
        {
            string[] paths = [.. written.SelectMany(r => r.Paths!).Distinct(StringComparer.Ordinal)];
            try
            {
                commit = await CommitPathsAsync(paths, string.Join("; ", written.Select(r => r.Message).Distinct(StringComparer.Ordinal)));
            }
            catch (Exception e)
            {
                foreach (var request in written) request.Done.TrySetException(e);
            }
        }
        foreach (var request in batch) request.Done.TrySetResult(request.Paths is { Count: > 0 } ? commit : null);
    }

    /// <summary>
    /// Adds and commits <paramref name="paths"/>; the new <c>main</c>, or null when nothing changed. Two git processes: the
    /// commit just made is read from the loose ref git wrote for it (<see cref="CommittedMainAsync"/>), not asked of a third;
    /// and <c>git commit</c>'s own <c>git maintenance run --auto</c> (one more process, waited for) runs on every
    /// <see cref="MaintenanceEvery"/>th commit only, so the repo is still packed as git would pack it, a few commits later.
    /// </summary>
    private async Task<string?> CommitPathsAsync(string[] paths, string message)
    {
        await GitAsync(["add", "-A", "--", .. paths]);
        try
        {
            await GitAsync(++_commits % MaintenanceEvery == 0 ? null : NoAutoMaintenance, ["commit", "-q", "-m", message, "--", .. paths]);
        }
        catch (MetaFileException)
        {
            // Written yet the same as committed (a work tree left changed by an earlier failure): nothing to commit.
            // Asked only then: a status before every commit was one more git run per create.
            if ((await GitAsync(["status", "--porcelain", "--", .. paths])).Length == 0) return null;
            throw;
        }
        return await CommittedMainAsync();
    }

    /// <summary>
    /// <c>main</c> right after a commit on it, read where <c>git rev-parse main</c> looks first: the loose ref
    /// <c>.git/refs/heads/main</c>, which wins over a packed one and which a commit on <c>main</c> always writes (this caller
    /// holds the one git lock, so nothing moves it meanwhile). Asked of git when that file is missing or not a plain object id.
    /// </summary>
    private async Task<string> CommittedMainAsync()
    {
        try
        {
            var id = (await File.ReadAllTextAsync(Path.Combine(Dir, ".git", "refs", "heads", "main"))).Trim();
            if (id.Length is 40 or 64 && id.All(char.IsAsciiHexDigitLower)) return id;
        }
        catch (IOException) { }
        return (await GitAsync("rev-parse", "main")).Trim();
    }

    /// <summary>Every this many commits of <see cref="CommitPathsAsync"/>, git's automatic maintenance is left to run.</summary>
    private const int MaintenanceEvery = 32;

    private static readonly Dictionary<string, string> NoAutoMaintenance = new()
    {
        ["GIT_CONFIG_COUNT"] = "1", ["GIT_CONFIG_KEY_0"] = "maintenance.auto", ["GIT_CONFIG_VALUE_0"] = "false",
    };

    /// <summary>Commits made by <see cref="CommitPathsAsync"/> (under the git lock).</summary>
    private int _commits;

    /// <summary>At most this many requests share a commit (its message joins theirs).</summary>
    private const int MaxBatch = 32;

    private readonly Queue<Pending> _queue = new();

    /// <summary>What a batch's requests share: who publishes its commit (the first of them to claim it).</summary>
    private sealed class Batch
    {
        private int _claimed;

        public bool ClaimPublication() => Interlocked.Exchange(ref _claimed, 1) == 0;
    }

    private sealed class Pending(Func<Task<IReadOnlyList<string>?>> write, string message, bool joins)
    {
        public Func<Task<IReadOnlyList<string>?>> Write { get; } = write;
        public string Message { get; } = message;
        public bool Joins { get; } = joins;
        /// <summary>What the write answered: the paths to commit.</summary>
        public IReadOnlyList<string>? Paths { get; set; }
        /// <summary>In a batch already (set under the queue's lock, read by its owner holding the git lock).</summary>
        public volatile bool Taken;
        /// <summary>The batch it is in, set with <see cref="Taken"/>.</summary>
        public Batch? Batch { get; set; }
        public TaskCompletionSource<string?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Runs <paramref name="work"/> as the one git operation of its moment (the repo made first).</summary>
    internal async Task<T> LockedAsync<T>(Func<Task<T>> work)
    {
        await EnsureAsync();
        await _lock.WaitAsync();
        try
        {
            return await work();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The agent's file on <c>main</c>, parsed; null when there is none; <see cref="MetaFileException"/> when it is not valid.</summary>
    public async Task<AgentConfig?> ReadAgentAsync(string agent, string rev = "main")
    {
        await EnsureAsync();
        string text;
        try
        {
            text = await GitAsync("show", $"{rev}:{AgentFile.PathOf(agent)}");
        }
        catch (MetaFileException)
        {
            return null;
        }
        return AgentFile.Parse(agent, text);
    }

    /// <summary>The commit <c>main</c> is on now.</summary>
    public async Task<string> MainAsync()
    {
        await EnsureAsync();
        return (await GitAsync("rev-parse", "main")).Trim();
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

    /// <summary>Tells whoever follows the repo (the forge pushes it) that <c>main</c> moved; their trouble is not the commit's.</summary>
    internal async Task PublishCommittedAsync(string commit)
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

    public async Task<IReadOnlyList<string>> RefsAsync(string fate)
    {
        await EnsureAsync();
        return (await GitAsync("for-each-ref", "--format=%(refname)", $"refs/{fate}/"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    internal Task<string> GitAsync(params string[] args) => GitAsync(null, args);

    internal Task<string> GitAsync(IReadOnlyDictionary<string, string>? env, params string[] args) => GitAsync(env, TimeSpan.FromSeconds(30), args);

    /// <summary>
    /// Runs git in the repo through the host's one runner (<see cref="ChildProcess"/>): argv only, a clean environment with its
    /// own identity, no user or system configuration, no prompts.
    /// </summary>
    internal async Task<string> GitAsync(IReadOnlyDictionary<string, string>? env, TimeSpan limit, string[] args)
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
