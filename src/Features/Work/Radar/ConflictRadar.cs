using Hive.Features.Work.Leases;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Hosting;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work.Radar;

/// <summary>
/// The conflict radar: every <c>Hive:Work:RadarSeconds</c> (2) it reads the heads of the active tickets' branches (one
/// <c>git for-each-ref</c> per clone: an agent's commit in its worktree moves the clone's branch), diffs each branch that
/// moved against its base (<c>-U0</c>, kept until it moves again), and hands what <see cref="RadarPass"/> finds, with the
/// leases held now, to <see cref="ApplyConflictRisks"/>, which writes only what changed. Active: a live workspace whose
/// ticket is not done. A pass over tickets that did not move costs their heads and the rule, no diff.
/// </summary>
internal sealed class ConflictRadar(IOptions<WorkOptions> options, WorkspaceRows rows, RepositoryClones clones, WorkspaceGit git, WorkflowCatalog catalog,
    IServiceScopeFactory scopes, TimeProvider clock, ILogger<ConflictRadar> logger)
    : TriggeredBackgroundService(new WakeSignal(), TimeSpan.FromSeconds(options.Value.RadarSeconds), passAtStart: true, clock, logger)
{
    /// <summary>Branches diffed by one git run (its output stays well under the 1 MiB a run's output is kept to).</summary>
    private const int DiffsPerRun = 25;

    private readonly Dictionary<long, (string Head, TicketChanges Changes)> _seen = [];

    /// <summary>The last pass found no risk and cleared what was open (false until a pass has, so risks left by a restart clear).</summary>
    private bool _clear;

    protected override async Task PassAsync(CancellationToken stoppingToken)
    {
        var active = rows.Active().Where(r => catalog.Find(r.Workflow) is { } w && !(w.Find(r.Phase)?.Terminal ?? false)).ToList();
        foreach (var gone in _seen.Keys.Except(active.Select(a => a.Row.TicketId)).ToList()) _seen.Remove(gone);
        var changes = new List<TicketChanges>();
        foreach (var repository in active.GroupBy(a => a.Row.Repository))
        {
            var bare = clones.BareOf(repository.Key);
            if (!Directory.Exists(bare)) continue;
            var heads = (await git.GitAsync(bare, ["for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/ticket/"], stoppingToken, allowFailure: true))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            var moved = new List<(WorkspaceRow Row, string Head)>();
            foreach (var (row, _, _) in repository)
                if (heads.TryGetValue(row.Branch, out var head)
                    && (!_seen.TryGetValue(row.TicketId, out var seen) || seen.Head != head || seen.Changes.Owner != row.Agent))
                    moved.Add((row, head));
            foreach (var batch in moved.Chunk(DiffsPerRun))
                foreach (var (row, head, patch) in await DiffAsync(bare, batch, stoppingToken))
                    _seen[row.TicketId] = (head, new TicketChanges(row.TicketId, row.Agent, row.Repository, RadarPass.Parse(patch)));
            changes.AddRange(repository.Where(a => _seen.ContainsKey(a.Row.TicketId) && heads.ContainsKey(a.Row.Branch)).Select(a => _seen[a.Row.TicketId].Changes));
        }
        // With one active ticket or none there is no pair: no lease to read, and nothing to write once that has been written.
        if (changes.Count < 2 && _clear) return;
        await using var scope = scopes.CreateAsyncScope();
        var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
        var leases = changes.Count < 2 ? [] : (await mediator.Send(new ListLeases.Query(), stoppingToken)).Select(l => (l.Holder, l.Resource)).ToList();
        var found = RadarPass.Find(changes, leases);
        await mediator.Send(new ApplyConflictRisks.Command(found, changes.ToDictionary(c => c.TicketId, c => c.Owner)), stoppingToken);
        _clear = found.Count == 0;
    }

    /// <summary>
    /// Each branch's <c>-U0</c> patch against its base, from one <c>git diff-tree --stdin</c>: a line "head base" diffs
    /// base → head, and the output gives each non-empty diff after a line holding its head, in the order asked.
    /// </summary>
    private async Task<List<(WorkspaceRow Row, string Head, string Patch)>> DiffAsync(string bare, IReadOnlyList<(WorkspaceRow Row, string Head)> batch, CancellationToken ct)
    {
        var output = await git.GitAsync(bare, RadarPass.DiffTree, ct, allowFailure: true,
            standardInput: string.Concat(batch.Select(b => RadarPass.DiffTreeLine(b.Head, b.Row.BaseSha))));
        var patches = RadarPass.SplitDiffTree(output, batch.Select(b => b.Head).ToList());
        return batch.Select((b, i) => (b.Row, b.Head, patches[i])).ToList();
    }
}
