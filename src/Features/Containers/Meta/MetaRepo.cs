using Hive.Contracts.Agents;
using Hive.Shared;
using Hive.Shared.Changes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// The meta repo at <c>&lt;DataDir&gt;/meta</c>: one file per managed agent (<c>agents/&lt;name&gt;.json</c>), real git
/// (<see cref="MetaGit"/>). Every change of an agent's configuration is a commit saying who asked. A proposal is pinned when it
/// is made and decided (<see cref="MetaProposals"/>); the pinned inputs are <see cref="MetaInputs"/>. One git operation at a time.
/// </summary>
public sealed class MetaRepo(HivePaths paths, IServiceScopeFactory scopes, ILogger<MetaRepo> logger, StateChanges changes)
{
    private readonly MetaGroupCommit _groupCommit = new(new MetaGit(paths.MetaDir));
    private string? _unavailable;
    private bool _ready;

    public string Dir => paths.MetaDir;

    /// <summary>git in the repo; a series of operations holds its turn (<see cref="LockedAsync{T}"/>).</summary>
    internal MetaGit Git => _groupCommit.Git;

    /// <summary>Null when the repo works; else why not (no git on this machine, say).</summary>
    public string? Unavailable => _ready ? null : _unavailable;

    /// <summary>Creates the repo on first use (branch <c>main</c>, an empty <c>inputs.json</c>).</summary>
    public async Task EnsureAsync()
    {
        if (_ready) return;
        await Git.Turn.WaitAsync();
        try
        {
            if (_ready) return;
            if (!Directory.Exists(Path.Combine(Dir, ".git")))
            {
                HivePaths.EnsurePrivateDirectory(Dir);
                await Git.RunAsync("init", "-q", "-b", "main");
                Directory.CreateDirectory(Path.Combine(Dir, "agents"));
                await File.WriteAllTextAsync(Path.Combine(Dir, "inputs.json"), "[]\n");
                await Git.RunAsync("add", "-A");
                await Git.RunAsync("commit", "-q", "-m", "hive: a new meta repo");
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
            Git.Turn.Release();
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
    /// One commit of the work tree (<see cref="MetaGroupCommit.CommitAsync"/>): <paramref name="write"/> changes files and
    /// answers the paths to commit. The commit that holds them, null when nothing changed. The commit is published by the
    /// first of its callers to get back, in that caller's own flow (inside its state change when it runs in one), before
    /// that caller returns.
    /// </summary>
    internal async Task<string?> CommitAsync(Func<Task<IReadOnlyList<string>?>> write, string message, bool joins = false)
    {
        await EnsureAsync();
        var (commit, publishes, paths) = await _groupCommit.CommitAsync(write, message, joins);
        if (publishes) await PublishCommittedAsync(commit!, paths);
        return commit;
    }

    /// <summary>Runs <paramref name="work"/> as the one git operation of its moment (the repo made first).</summary>
    internal async Task<T> LockedAsync<T>(Func<Task<T>> work)
    {
        await EnsureAsync();
        await Git.Turn.WaitAsync();
        try
        {
            return await work();
        }
        finally
        {
            Git.Turn.Release();
        }
    }

    /// <summary>The agent's file on <c>main</c>, parsed; null when there is none; <see cref="MetaFileException"/> when it is not valid.</summary>
    public async Task<AgentConfig?> ReadAgentAsync(string agent, string rev = "main")
    {
        await EnsureAsync();
        string text;
        try
        {
            text = await Git.RunAsync("show", $"{rev}:{AgentFile.PathOf(agent)}");
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
        return (await Git.RunAsync("rev-parse", "main")).Trim();
    }

    public async Task<IReadOnlyList<MetaCommit>> LogAsync(int count)
    {
        await EnsureAsync();
        var text = await Git.RunAsync("log", $"-{count}", "--format=%H%x1f%cI%x1f%s%x1e", "main");
        return text.Split('\x1e', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('\x1f'))
            .Select(f => new MetaCommit(f[0], f[2], DateTimeOffset.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
    }

    /// <summary>
    /// Tells whoever follows the repo (the forge pushes it) that <c>main</c> moved, to <paramref name="commit"/> holding
    /// <paramref name="paths"/> (null: anything may have moved, as after a reset); their trouble is not the commit's.
    /// </summary>
    internal async Task PublishCommittedAsync(string commit, IReadOnlyList<string>? paths)
    {
        try
        {
            // Raised as a change of its own (no rows): published in order with the hive's other events, under the gate.
            await changes.RunAsync(scopes, (change, _) =>
            {
                change.Raise(new MetaCommitted(commit, paths));
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
        return (await Git.RunAsync("for-each-ref", "--format=%(refname)", $"refs/{fate}/"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
