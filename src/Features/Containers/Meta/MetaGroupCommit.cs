namespace Hive.Features.Containers;

/// <summary>
/// The meta repo's commits of its work tree, grouped: requests queued while one commits go together into the next
/// commit (<see cref="CommitAsync"/>). Holds <see cref="MetaGit.Turn"/> while it runs git.
/// </summary>
internal sealed class MetaGroupCommit(MetaGit git)
{
    public MetaGit Git => git;

    /// <summary>
    /// One commit of the work tree, holding the lock: <paramref name="write"/> changes files and answers the paths to commit
    /// (null or none: nothing to commit). The commit that holds them, null when nothing changed; and whether this caller
    /// is the one to publish it, with the paths its commit holds (every request's of its batch).
    /// Group commit: whoever holds the lock commits every request queued behind it, in order, a joining request together with
    /// the joining ones right after it (one <c>git commit</c>, their messages joined), so creates in flight share one commit's
    /// git runs instead of each waiting for the others' (a fleet once spent most of its ramp queued here). Each caller still
    /// returns only once the commit holding its files is made. The commit is published by the first of its callers to get
    /// back, in that caller's own flow (inside its state change when it runs in one, as before), before that caller returns;
    /// a commit of its own (not joining) is thus published before its caller returns, as it always was.
    /// </summary>
    public async Task<(string? Commit, bool Publishes, IReadOnlyList<string> Paths)> CommitAsync(Func<Task<IReadOnlyList<string>?>> write, string message, bool joins)
    {
        var mine = new Pending(write, message, joins);
        lock (_queue) _queue.Enqueue(mine);
        using (var given = new CancellationTokenSource())
        {
            // Either this caller gets the lock and commits, or one ahead of it commits its request meanwhile.
            var entered = git.Turn.WaitAsync(given.Token);
            if (await Task.WhenAny(entered, mine.Done.Task) == entered)
            {
                try
                {
                    // Until this caller's request is in a batch (another holder of the lock may have taken it already).
                    while (!mine.Taken && NextBatch() is { } batch) await CommitBatchAsync(batch);
                }
                finally
                {
                    git.Turn.Release();
                }
            }
            else
            {
                await given.CancelAsync();
                try
                {
                    await entered;
                    git.Turn.Release();
                }
                catch (OperationCanceledException) { }
            }
        }
        var commit = await mine.Done.Task;
        // Not by the one that ran git: it may wait on a caller's change to publish in, while that caller waits on it.
        return (commit, commit is not null && mine.Batch!.ClaimPublication(), mine.Batch!.Paths);
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
            batch[0].Batch!.Paths = paths;
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
        await git.RunAsync(["add", "-A", "--", .. paths]);
        try
        {
            await git.RunAsync(++_commits % MaintenanceEvery == 0 ? null : NoAutoMaintenance, ["commit", "-q", "-m", message, "--", .. paths]);
        }
        catch (MetaFileException)
        {
            // Written yet the same as committed (a work tree left changed by an earlier failure): nothing to commit.
            // Asked only then: a status before every commit was one more git run per create.
            if ((await git.RunAsync(["status", "--porcelain", "--", .. paths])).Length == 0) return null;
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
            var id = (await File.ReadAllTextAsync(Path.Combine(git.Dir, ".git", "refs", "heads", "main"))).Trim();
            if (id.Length is 40 or 64 && id.All(char.IsAsciiHexDigitLower)) return id;
        }
        catch (IOException) { }
        return (await git.RunAsync("rev-parse", "main")).Trim();
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

    /// <summary>What a batch's requests share: the paths its commit holds, and who publishes it (the first of them to claim it).</summary>
    private sealed class Batch
    {
        private int _claimed;

        /// <summary>Set under the git lock before any request of the batch is answered.</summary>
        public IReadOnlyList<string> Paths { get; set; } = [];

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
}
