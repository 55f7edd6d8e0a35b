using System.Text.Json;
using Hive.Contracts.Agents;
using Hive.Shared.Json;
using Hive.Shared.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// The meta repo's proposals (<see cref="MetaRepo"/> has the files): a proposal is pinned when it is made, as
/// <c>refs/proposal/&lt;id&gt;</c> (a commit on top of <c>main</c> built in a private index, so the work tree never holds an
/// unapproved file), and its fate is recorded as refs too: <c>approved/&lt;id&gt;</c>, then <c>deployed/&lt;id&gt;</c> or
/// <c>failed/&lt;id&gt;</c> (a commit whose message is the reason), or <c>denied/&lt;id&gt;</c> (with the operator's note).
/// </summary>
public sealed class MetaProposals(MetaRepo repo, IOptions<MetaOptions> options, ILogger<MetaProposals> logger)
{
    /// <summary>
    /// Pins a proposal: a commit on top of <c>main</c> with the agent's new file, at <c>refs/proposal/&lt;id&gt;</c>; returns
    /// it, its diff, and its base (<c>main</c> as it was diffed against, read under the same lock).
    /// </summary>
    public Task<(string Commit, string Diff, string Base)> ProposeAsync(long id, string agent, AgentConfig config, string message) =>
        repo.LockedAsync(async () =>
        {
            var (commit, diff, @base) = await CommitOnMainAsync($"proposal-{id}", agent, config, message);
            await repo.Git.RunAsync("update-ref", $"refs/proposal/{id}", commit);
            return (commit, diff, @base);
        });

    /// <summary>What a new configuration of the agent would change in its file on <c>main</c>: the diff, empty when nothing.</summary>
    public Task<string> PreviewAsync(string agent, AgentConfig config) =>
        repo.LockedAsync(async () => (await CommitOnMainAsync($"preview-{Guid.NewGuid():N}", agent, config, $"a preview for {agent}")).Diff);

    /// <summary>
    /// A commit on top of <c>main</c> with the agent's new file, built in a private index (the work tree never holds it) and
    /// referenced by nothing yet; with its diff and its base. Under the lock.
    /// </summary>
    private async Task<(string Commit, string Diff, string Base)> CommitOnMainAsync(string tag, string agent, AgentConfig config, string message)
    {
        var index = Path.Combine(repo.Dir, ".git", $"{tag}.index");
        try
        {
            var blobFile = Path.Combine(repo.Dir, ".git", $"{tag}.json");
            await File.WriteAllTextAsync(blobFile, AgentFile.Serialize(config));
            var blob = (await repo.Git.RunAsync("hash-object", "-w", blobFile)).Trim();
            File.Delete(blobFile);
            var env = new Dictionary<string, string> { ["GIT_INDEX_FILE"] = index };
            var @base = (await repo.Git.RunAsync("rev-parse", "main")).Trim();
            await repo.Git.RunAsync(env, "read-tree", @base);
            await repo.Git.RunAsync(env, "update-index", "--add", "--cacheinfo", $"100644,{blob},{AgentFile.PathOf(agent)}");
            var tree = (await repo.Git.RunAsync(env, "write-tree")).Trim();
            var commit = (await repo.Git.RunAsync("commit-tree", tree, "-p", @base, "-m", message)).Trim();
            var diff = await repo.Git.RunAsync("diff", @base, commit, "--", AgentFile.PathOf(agent));
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
        await repo.EnsureAsync();
        var now = await BlobAsync("main", agent);
        if (now == await BlobAsync($"refs/proposal/{id}", agent)) return Standing.Applied;
        return now == await BlobAsync(baseCommit ?? $"refs/proposal/{id}^", agent) ? Standing.OnBase : Standing.Stale;
    }

    /// <summary>The blob id of the agent's file at <paramref name="rev"/>; null when it has none there.</summary>
    private async Task<string?> BlobAsync(string rev, string agent)
    {
        try
        {
            return (await repo.Git.RunAsync("rev-parse", "--verify", "--quiet", $"{rev}:{AgentFile.PathOf(agent)}")).Trim();
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
        await repo.EnsureAsync();
        var proposal = (await repo.Git.RunAsync("rev-parse", $"refs/proposal/{id}")).Trim();
        var config = AgentFile.Parse(agent, await repo.Git.RunAsync("show", $"{proposal}:{AgentFile.PathOf(agent)}"));
        // Before and after are the deploy's own commit and its parent, not main read around it: a commit landing in between
        // (another agent's create) must not be taken for the deploy's, or a failed start's reset would drop it.
        if (await repo.CommitAgentAsync(agent, config, message) is not { } after)
        {
            // Nothing to commit (the file is the proposed one already): before is after, so nothing is ever reset.
            await MarkApprovedAsync(id);
            var main = (await repo.Git.RunAsync("rev-parse", "main")).Trim();
            return (main, main);
        }
        var before = (await repo.Git.RunAsync("rev-parse", $"{after}^")).Trim();
        await MarkApprovedAsync(id);
        return (before, after);
    }

    /// <summary><c>refs/approved/&lt;id&gt;</c> = the proposal (idempotent: a start-up finishing a deploy writes it again).</summary>
    public async Task MarkApprovedAsync(long id) =>
        await repo.Git.RunAsync("update-ref", $"refs/approved/{id}", (await repo.Git.RunAsync("rev-parse", $"refs/proposal/{id}")).Trim());

    /// <summary>The fate recorded for an approval (<c>deployed</c> or <c>failed</c>) and its message; null when none is.</summary>
    public async Task<(string Fate, string Message)?> FateOfAsync(long id)
    {
        await repo.EnsureAsync();
        foreach (var fate in (string[])["deployed", "failed"])
        {
            try
            {
                return (fate, (await repo.Git.RunAsync("log", "-1", "--format=%B", $"refs/{fate}/{id}")).Trim());
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
        if (!string.Equals(options.Value.PauseDeployAt, step, StringComparison.Ordinal)) return;
        logger.LogWarning("meta: the deploy of approval {Id} paused at {Step} (Hive:Meta:PauseDeployAt)", id, step);
        await Task.Delay(Timeout.Infinite);
    }

    /// <summary>Records an approval's fate: <c>refs/&lt;fate&gt;/&lt;id&gt;</c>, a commit on top of <paramref name="target"/> whose message says why.</summary>
    public async Task MarkAsync(string fate, long id, string target, string message)
    {
        await repo.EnsureAsync();
        var tree = (await repo.Git.RunAsync("rev-parse", $"{target}^{{tree}}")).Trim();
        var note = (await repo.Git.RunAsync("commit-tree", tree, "-p", target, "-m", message)).Trim();
        await repo.Git.RunAsync("update-ref", $"refs/{fate}/{id}", note);
    }

    /// <summary>
    /// A failed deploy: the agent's file goes back to <paramref name="old"/>. When <c>main</c> is still the deploy's own
    /// commit (<paramref name="after"/>, whose parent is <paramref name="before"/>), <c>main</c> is reset to where it was;
    /// when something was committed on top since, or the commit was made in a life of the host that was killed
    /// (<paramref name="before"/> unknown), the old file is committed back, so nothing else on <c>main</c> is lost.
    /// </summary>
    public async Task RevertAgentAsync(string agent, AgentConfig? old, string? before, string after, string message)
    {
        var reset = await repo.LockedAsync(async () =>
        {
            if (before is null || (await repo.Git.RunAsync("rev-parse", "main")).Trim() != after) return false;
            await repo.Git.RunAsync("reset", "-q", "--hard", before);
            return true;
        });
        if (reset) await repo.PublishCommittedAsync(before!, null);
        else await repo.CommitAgentAsync(agent, old, message);
    }
}
