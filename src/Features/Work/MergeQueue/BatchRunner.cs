using Hive.Contracts.Work;
using Hive.Features.Containers.Jobs;
using Hive.Features.Forge;
using Hive.Features.Work.Workspaces;
using Hive.Shared;
using Hive.Shared.Errors;
using Hive.Shared.Mediation;
using Hive.Shared.Processes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work.MergeQueue;

/// <summary>
/// Tests and lands one batch of a repository's queue. Its tickets' branches are merged one after another onto the base
/// in the clone's object store (<c>git merge-tree</c> and <c>commit-tree</c>: no worktree, nothing half-written; a
/// branch that conflicts goes back with its files, a branch on the base already lands as it is), the workflow's
/// <c>check</c> runs over the merged tree as a sandboxed job of the hive (<see cref="RunSandboxedJob"/>), and a green
/// batch's last merge is pushed to the base as a fast-forward, as the hive. A red batch of one goes back with the check's
/// last lines; a larger one is split in two, each half tested on the base as the first left it, until the tickets that
/// break the check are found and the others have landed. Each step is written (<see cref="BatchChanges"/>) before the
/// git it stands for where that git cannot be undone, so a restart knows where it stopped (<see cref="ResumeAsync"/>).
/// </summary>
internal sealed class BatchRunner(TicketWorkspaces workspaces, WorkspaceGit git, WorkspaceRows rows, WorkflowCatalog catalog, HivePaths paths,
    IOptions<WorkOptions> options, IServiceScopeFactory scopes, ILogger<BatchRunner> logger)
{
    /// <summary>Who the merges are by.</summary>
    private static readonly string[] Identity = ["-c", "user.name=hive", "-c", "user.email=hive@hive.invalid"];

    /// <summary>Runs a batch of <paramref name="tickets"/> (queued, in order) of <paramref name="workflow"/>'s repository.</summary>
    public async Task RunAsync(Workflow workflow, IReadOnlyList<long> tickets, CancellationToken ct)
    {
        var repository = WorkRepository.Of(workflow)!;
        var (bare, main, baseSha) = await workspaces.FetchBaseAsync(repository, ct);
        await TestAsync(workflow, repository, bare, main, baseSha, tickets, null, ct);
    }

    /// <summary>
    /// Tests <paramref name="tickets"/> on <paramref name="baseSha"/>, landing what passes; answers the base after it (advanced
    /// when something landed).
    /// </summary>
    private async Task<string> TestAsync(Workflow workflow, WorkRepository repository, string bare, string main, string baseSha, IReadOnlyList<long> tickets,
        long? parent, CancellationToken ct)
    {
        var (batchId, taken) = await scopes.SendAsync(new BatchChanges.Start(repository.Address, parent, main, baseSha, tickets), ct);
        if (taken.Count == 0) return baseSha;
        try
        {
            return await TestBatchAsync(workflow, repository, bare, main, baseSha, batchId, taken, ct);
        }
        catch (Exception e) when (e is HiveException or ChildProcessException or IOException && !ct.IsCancellationRequested)
        {
            // The queue could not do its part (the repository refused, the check could not run): the tickets wait for the operator.
            logger.LogWarning("merge queue: batch {Batch} of {Repository} failed: {Why}", batchId, repository.Address, e.Message);
            await scopes.SendAsync(new BatchChanges.Requeue(batchId, MergeBatch.Failed, MergeSteps.Held, e.Message, Hold: true), CancellationToken.None);
            return baseSha;
        }
    }

    private async Task<string> TestBatchAsync(Workflow workflow, WorkRepository repository, string bare, string main, string baseSha, long batchId,
        IReadOnlyList<(long Id, string Title)> taken, CancellationToken ct)
    {
        var result = baseSha;
        var merged = new List<(long Ticket, string Sha)>();
        var alreadyIn = new List<long>();
        foreach (var (ticket, title) in taken)
        {
            var head = await HeadAsync(bare, ticket, ct);
            if (head is null)
            {
                await scopes.SendAsync(new BatchChanges.Return(batchId, ticket, "its branch is not in the repository's clone", [],
                    $"ticket #{ticket} went back from the merge queue: its branch is not in {repository.Address}'s clone. Push it again and submit."), ct);
                continue;
            }
            if ((await git.RunAsync(bare, ["merge-base", "--is-ancestor", head, result], ct)).ExitCode == 0)
            {
                alreadyIn.Add(ticket);
                continue;
            }
            var tree = await git.RunAsync(bare, ["merge-tree", "--write-tree", "--name-only", "--no-messages", result, head], ct);
            var lines = tree.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (tree.ExitCode == 1)
            {
                var files = lines.Skip(1).Distinct().Order(StringComparer.Ordinal).ToList();
                await scopes.SendAsync(new BatchChanges.Return(batchId, ticket, "its branch conflicts with the base", files,
                    $"ticket #{ticket} went back from the merge queue: its branch conflicts with {main} (at {result[..12]}) in {string.Join(", ", files)}. "
                    + $"Merge {main} into your branch, resolve them, and submit again."), ct);
                continue;
            }
            if (tree.ExitCode != 0 || lines.Length == 0) throw new ConflictException($"git merge-tree failed for ticket {ticket}: {WorkspaceDisk.FirstLine(tree.Stderr)}");
            result = (await git.GitAsync(bare, [.. Identity, "commit-tree", lines[0], "-p", result, "-p", head, "-m", $"Merge ticket #{ticket}: {title}"], ct)).Trim();
            merged.Add((ticket, result));
        }
        await scopes.SendAsync(new BatchChanges.RecordMerges(batchId, merged, alreadyIn, result), ct);
        if (merged.Count == 0 && alreadyIn.Count == 0)
        {
            await scopes.SendAsync(new BatchChanges.Mark(batchId, MergeBatch.Empty, MergeSteps.Returned, "every ticket went back"), ct);
            return baseSha;
        }

        if (workflow.Check is { } check && merged.Count > 0)
        {
            var job = await CheckAsync(check, bare, batchId, result, ct);
            if (!job.Passed)
            {
                var why = job.TimedOut ? $"the check did not finish in {options.Value.MergeQueue.CheckTimeoutSeconds} s" : $"the check exited with {(job.ExitCode is { } code ? $"code {code}" : $"signal {job.Signal}")}";
                await scopes.SendAsync(new BatchChanges.Mark(batchId, MergeBatch.Red, MergeSteps.CheckFailed, why, job.Tail, job.LogPath), ct);
                if (merged.Count == 1 && alreadyIn.Count == 0)
                {
                    var ticket = merged[0].Ticket;
                    await scopes.SendAsync(new BatchChanges.Return(batchId, ticket, $"{why} with its branch merged", [],
                        $"ticket #{ticket} went back from the merge queue: merged onto {main} at {baseSha[..12]}, {why}.\n"
                        + $"To reproduce: merge {baseSha[..12]} into your branch and run {string.Join(' ', check)}\nIts last lines:\n{job.Tail}"), ct);
                    return baseSha;
                }
                // More than one: test each half on the base as the first half leaves it, until the breaking tickets are alone.
                var order = merged.Select(m => m.Ticket).Concat(alreadyIn).ToList();
                var half = (order.Count + 1) / 2;
                await scopes.SendAsync(new BatchChanges.Requeue(batchId, MergeBatch.Red, MergeSteps.Bisect, $"split in two: {string.Join(", ", order.Take(half))} | {string.Join(", ", order.Skip(half))}", Hold: false), ct);
                var after = await TestAsync(workflow, repository, bare, main, baseSha, order.Take(half).ToList(), batchId, ct);
                return await TestAsync(workflow, repository, bare, main, after, order.Skip(half).ToList(), batchId, ct);
            }
            await scopes.SendAsync(new BatchChanges.Mark(batchId, MergeBatch.Pushing, MergeSteps.CheckPassed, "the check passed", job.Tail, job.LogPath), ct);
        }
        else await scopes.SendAsync(new BatchChanges.Mark(batchId, MergeBatch.Pushing, MergeSteps.Pushing, workflow.Check is null ? "no check: pushing" : "nothing new: pushing"), ct);

        if (result != baseSha)
        {
            try
            {
                await workspaces.PushBaseAsync(repository, result, main, ct);
            }
            catch (ConflictException e)
            {
                // Refused: the base moved meanwhile (someone pushed to it), and the batch is tested again on the new base;
                // unless the push did land and only its answer was lost.
                if (!await workspaces.OnBaseAsync(repository, main, result, ct))
                {
                    await scopes.SendAsync(new BatchChanges.Requeue(batchId, MergeBatch.Interrupted, MergeSteps.Interrupted, $"the push was refused: {e.Message}", Hold: false), ct);
                    return baseSha;
                }
            }
        }
        await scopes.SendAsync(new BatchChanges.Land(batchId), ct);
        logger.LogInformation("merge queue: batch {Batch} landed {Count} ticket(s) on {Repository}'s {Base} at {Sha}", batchId, merged.Count + alreadyIn.Count,
            repository.Address, main, result[..12]);
        return result;
    }

    /// <summary>The workflow's check over the merged tree, as a sandboxed job; its log kept under <c>work/checks/&lt;batch&gt;</c>.</summary>
    private async Task<RunSandboxedJob.Result> CheckAsync(IReadOnlyList<string> check, string bare, long batchId, string result, CancellationToken ct)
    {
        var dir = Path.Combine(paths.WorkDir, "checks", batchId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        HivePaths.EnsurePrivateDirectory(Path.Combine(paths.WorkDir, "checks"));
        Directory.CreateDirectory(dir, HivePaths.PrivateDir);
        var archive = Path.Combine(dir, "tree.tar");
        try
        {
            await git.GitAsync(bare, ["archive", "--format=tar", "-o", archive, result], ct);
            await scopes.SendAsync(new BatchChanges.Mark(batchId, MergeBatch.Checking, MergeSteps.CheckStarted, string.Join(' ', check)), ct);
            return await scopes.SendAsync(new RunSandboxedJob.Command($"check-{batchId}", check, archive, dir,
                TimeSpan.FromSeconds(options.Value.MergeQueue.CheckTimeoutSeconds)), ct);
        }
        finally
        {
            File.Delete(archive);
        }
    }

    /// <summary>The ticket's branch head: what its clone holds (what the review saw), else what the repository has.</summary>
    private async Task<string?> HeadAsync(string bare, long ticket, CancellationToken ct)
    {
        if (rows.Find(ticket) is not { } row) return null;
        return await git.RevParseAsync(bare, $"refs/heads/{row.Branch}", ct) ?? await git.RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{row.Branch}", ct);
    }

    /// <summary>
    /// After a restart, each batch a host left running: one that reached <c>pushing</c> landed if the base holds its result
    /// (asked of the repository), else it and every other is interrupted, its tickets queued again. Nothing is merged twice:
    /// a ticket whose branch is on the base already lands as it is.
    /// </summary>
    public async Task ResumeAsync(IReadOnlyList<MergeBatch> running, CancellationToken ct)
    {
        foreach (var batch in running)
        {
            var workflow = catalog.All.Values.FirstOrDefault(w => string.Equals(w.Repository, batch.Repository, StringComparison.OrdinalIgnoreCase));
            var landed = false;
            if (batch is { State: MergeBatch.Pushing, ResultSha: { } result } && workflow is not null)
            {
                try
                {
                    landed = await workspaces.OnBaseAsync(WorkRepository.Of(workflow)!, batch.Base, result, ct);
                }
                catch (HiveException e)
                {
                    logger.LogWarning("merge queue: could not ask {Repository} whether batch {Batch} landed ({Why}); it is tested again", batch.Repository, batch.Id, e.Message);
                }
            }
            if (landed) await scopes.SendAsync(new BatchChanges.Land(batch.Id), ct);
            else await scopes.SendAsync(new BatchChanges.Requeue(batch.Id, MergeBatch.Interrupted, MergeSteps.Interrupted, $"the host stopped while it was {batch.State}", Hold: false), ct);
        }
    }
}
